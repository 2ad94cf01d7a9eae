# FindCNATS.cmake -- locates the NATS C client (nats.c) from Debian's
# libnats-dev and defines the imported target cnats::nats.
#
# Debian's own cnats-config.cmake references libnats_static.a, which the
# package does not ship, so find_package(cnats CONFIG) fails; this module
# finds the shared library directly.
include(FindPackageHandleStandardArgs)

find_path(CNATS_INCLUDE_DIR NAMES nats/nats.h)
find_library(CNATS_LIBRARY NAMES nats)

if(CNATS_INCLUDE_DIR AND EXISTS "${CNATS_INCLUDE_DIR}/nats/version.h")
  file(STRINGS "${CNATS_INCLUDE_DIR}/nats/version.h" _cnats_v
       REGEX "^#define NATS_VERSION_STRING")
  string(REGEX REPLACE ".*\"([0-9.]+).*\".*" "\\1" CNATS_VERSION "${_cnats_v}")
endif()

find_package_handle_standard_args(
  CNATS REQUIRED_VARS CNATS_INCLUDE_DIR CNATS_LIBRARY VERSION_VAR CNATS_VERSION)

if(CNATS_FOUND AND NOT TARGET cnats::nats)
  add_library(cnats::nats UNKNOWN IMPORTED)
  set_target_properties(
    cnats::nats PROPERTIES IMPORTED_LOCATION "${CNATS_LIBRARY}"
                           INTERFACE_INCLUDE_DIRECTORIES "${CNATS_INCLUDE_DIR}")
endif()
mark_as_advanced(CNATS_INCLUDE_DIR CNATS_LIBRARY)
