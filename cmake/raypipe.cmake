# Helpers that give every module the same shape: one static library per module, one gtest
# binary per module, explicit source lists.

include(GoogleTest)

# raypipe_library(NAME SRCS a.cc b.cc DEPS raypipe::core ...) -> target raypipe_NAME, alias
# raypipe::NAME, with src/ on the include path.
function(raypipe_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(raypipe_${name} STATIC ${ARG_SRCS})
  target_include_directories(raypipe_${name} PUBLIC "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(raypipe_${name} PUBLIC ${ARG_DEPS})
  add_library(raypipe::${name} ALIAS raypipe_${name})
endfunction()

# raypipe_test(NAME SRCS a_test.cc DEPS raypipe::core ...) -> a gtest binary whose tests ctest
# lists one by one. Not built in fuzz builds.
function(raypipe_test name)
  if(RAYPIPE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    RAYPIPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    RAYPIPE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "RAYPIPE_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# raypipe_fuzzer(NAME SRCS a_fuzzer.cc DEPS ...) -> a libFuzzer binary; only in fuzz builds.
function(raypipe_fuzzer name)
  if(NOT RAYPIPE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()

# raypipe_benchmark(NAME SRCS a_benchmark.cc DEPS ...) -> a Google Benchmark binary.
function(raypipe_benchmark name)
  if(RAYPIPE_FUZZ OR NOT RAYPIPE_BENCH)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
endfunction()
