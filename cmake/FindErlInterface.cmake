# Finds erl_interface (ei). Debian's erlang-dev ships libei.a and ei.h but no CMake or
# pkg-config file, so ask the Erlang runtime where the application lives.
find_program(ERL_EXECUTABLE erl)
if(ERL_EXECUTABLE AND NOT ErlInterface_ROOT)
  execute_process(
    COMMAND ${ERL_EXECUTABLE} -noshell -eval "io:format(\"~s\", [code:lib_dir(erl_interface)])" -s init stop
    OUTPUT_VARIABLE ErlInterface_ROOT
    RESULT_VARIABLE _ei_rc
    OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
find_path(ErlInterface_INCLUDE_DIR ei.h HINTS ${ErlInterface_ROOT}/include)
find_library(ErlInterface_LIBRARY NAMES ei HINTS ${ErlInterface_ROOT}/lib)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ErlInterface
  REQUIRED_VARS ErlInterface_LIBRARY ErlInterface_INCLUDE_DIR)
if(ErlInterface_FOUND AND NOT TARGET ErlInterface::ei)
  find_package(Threads REQUIRED)
  add_library(ErlInterface::ei STATIC IMPORTED)
  set_target_properties(ErlInterface::ei PROPERTIES
    IMPORTED_LOCATION ${ErlInterface_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${ErlInterface_INCLUDE_DIR}
    # ei's erl_errno is per-thread only when built and used with _REENTRANT (-pthread).
    INTERFACE_COMPILE_DEFINITIONS _REENTRANT
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
mark_as_advanced(ErlInterface_INCLUDE_DIR ErlInterface_LIBRARY)
