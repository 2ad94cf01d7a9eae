# aether_add_component(<name>
#   DIR <dir>                       component folder (include/ and src/ below it)
#   SOURCES <files...>              sources relative to <dir>/src
#   PUBLIC_DEPS <targets...>        linked PUBLIC
#   PRIVATE_DEPS <targets...>       linked PRIVATE)
#
# Defines the static library aether_<name>, its alias aether::<name>, the
# project's warning flags, and the install rules for the library and its
# public headers (<dir>/include/aether/...).
function(aether_add_component name)
  cmake_parse_arguments(ARG "" "DIR" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(dir "${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}")
  list(TRANSFORM ARG_SOURCES PREPEND "${dir}/src/")
  add_library(aether_${name} STATIC ${ARG_SOURCES})
  add_library(aether::${name} ALIAS aether_${name})
  set_target_properties(aether_${name} PROPERTIES EXPORT_NAME ${name}
                                                  POSITION_INDEPENDENT_CODE ON)
  target_compile_features(aether_${name} PUBLIC cxx_std_17)
  target_include_directories(
    aether_${name}
    PUBLIC $<BUILD_INTERFACE:${dir}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${dir}/src)
  target_link_libraries(aether_${name} PUBLIC ${ARG_PUBLIC_DEPS}
                                       PRIVATE ${ARG_PRIVATE_DEPS})
  aether_set_warnings(aether_${name})
  install(TARGETS aether_${name} EXPORT aetherTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# Project code builds with all warnings as errors.
function(aether_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
