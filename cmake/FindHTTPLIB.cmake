# FindHTTPLIB.cmake -- locates cpp-httplib from Debian's libcpp-httplib-dev
# (a compiled library, built with OpenSSL, zlib and Brotli support) and
# defines the imported target httplib::httplib with the same definitions,
# so the header's declarations match the library.
include(FindPackageHandleStandardArgs)

find_path(HTTPLIB_INCLUDE_DIR NAMES httplib.h)
find_library(HTTPLIB_LIBRARY NAMES cpp-httplib)

if(HTTPLIB_INCLUDE_DIR AND EXISTS "${HTTPLIB_INCLUDE_DIR}/httplib.h")
  file(STRINGS "${HTTPLIB_INCLUDE_DIR}/httplib.h" _httplib_v
       REGEX "^#define CPPHTTPLIB_VERSION")
  string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" HTTPLIB_VERSION "${_httplib_v}")
endif()

find_package_handle_standard_args(
  HTTPLIB REQUIRED_VARS HTTPLIB_INCLUDE_DIR HTTPLIB_LIBRARY
  VERSION_VAR HTTPLIB_VERSION)

if(HTTPLIB_FOUND AND NOT TARGET httplib::httplib)
  find_package(OpenSSL REQUIRED)
  add_library(httplib::httplib UNKNOWN IMPORTED)
  set_target_properties(
    httplib::httplib
    PROPERTIES IMPORTED_LOCATION "${HTTPLIB_LIBRARY}"
               INTERFACE_INCLUDE_DIRECTORIES "${HTTPLIB_INCLUDE_DIR}"
               INTERFACE_COMPILE_DEFINITIONS
               "CPPHTTPLIB_OPENSSL_SUPPORT;CPPHTTPLIB_ZLIB_SUPPORT;CPPHTTPLIB_BROTLI_SUPPORT"
               INTERFACE_LINK_LIBRARIES "OpenSSL::SSL;OpenSSL::Crypto")
endif()
mark_as_advanced(HTTPLIB_INCLUDE_DIR HTTPLIB_LIBRARY)
