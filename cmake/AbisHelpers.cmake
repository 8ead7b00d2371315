# abis_library(NAME SRCS ... DEPS ... [PUBLIC_DEPS ...])
#   One library per pipeline stage: target abis_<NAME>, alias abis::<NAME>.
# abis_test(NAME SRCS ... DEPS ... [LABELS ...])
#   A GoogleTest binary registered with ctest (label "unit" unless given).
# abis_benchmark(NAME SRCS ... DEPS ...)

add_library(abis_options INTERFACE)
target_compile_options(abis_options INTERFACE
  -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
target_compile_definitions(abis_options INTERFACE
  ABIS_MODEL_DIR="${ABIS_MODEL_DIR}" ABIS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
if(ABIS_SANITIZE)
  target_compile_options(abis_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(abis_options INTERFACE -fsanitize=address,undefined)
endif()

function(abis_library NAME)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(abis_${NAME} STATIC ${ARG_SRCS})
  add_library(abis::${NAME} ALIAS abis_${NAME})
  target_include_directories(abis_${NAME} PUBLIC
    ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
  target_link_libraries(abis_${NAME} PUBLIC abis_options ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
endfunction()

function(abis_test NAME)
  if(NOT ABIS_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${NAME} ${ARG_SRCS})
  target_link_libraries(${NAME} PRIVATE abis_options abis::testing ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${NAME} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()

function(abis_benchmark NAME)
  if(NOT ABIS_BUILD_BENCHMARKS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${NAME} ${ARG_SRCS})
  target_link_libraries(${NAME} PRIVATE abis_options ${ARG_DEPS} benchmark::benchmark)
endfunction()
