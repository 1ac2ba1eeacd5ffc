# Strict warnings for every vigil target: vigil_set_warnings(<target>)
function(vigil_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(VIGIL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC 12's flow-sensitive warnings fire on libstdc++/Boost internals in
      # optimised builds (e.g. GCC bugs 105329 and 105651: -Wrestrict on
      # std::string concatenation). They stay visible as warnings but do not
      # fail the build; every other warning still does.
      target_compile_options(${target} PRIVATE -Wno-error=restrict -Wno-error=maybe-uninitialized
        -Wno-error=stringop-overflow -Wno-error=stringop-overread -Wno-error=array-bounds)
    endif()
  endif()
endfunction()

# vigil_add_library(<folder> [DEPS <targets...>])
# One static library per folder, vigil_<folder> with alias vigil::<folder>,
# built from every .cpp in the folder (globbed, so adding a file needs no edit
# here). Headers are included as "<folder>/<file>.hpp" from the repo root.
function(vigil_add_library folder)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  set(target vigil_${folder})
  if(NOT sources)  # a folder whose first files have not landed yet
    set(sources ${PROJECT_BINARY_DIR}/generated/empty_${folder}.cpp)
    file(WRITE ${sources} "// ${folder}/ has no sources yet\n")
  endif()
  add_library(${target} STATIC ${sources})
  add_library(vigil::${folder} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  target_compile_features(${target} PUBLIC cxx_std_20)
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX POSITION_INDEPENDENT_CODE ON)
  vigil_set_warnings(${target})
endfunction()
