# Run one libFuzzer target for a bounded time (ctest -L fuzz):
#
#   cmake -DFUZZER=PATH -DSEEDS=DIR -DWORK=DIR -DSECONDS=N [-DDICT=FILE] [-DSUPP=FILE]
#         [-DEXTRA=FUZZER_ARGS] -P run_fuzz.cmake
#
# libFuzzer adds what it finds to its first corpus directory, so it gets a
# fresh copy of the seeds under WORK (in the build tree, never the source
# tree). A crash leaves its input in WORK as crash-*, leak-*, timeout-* or
# oom-*: add it to the seeds once the bug is fixed.
foreach(var FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz.cmake: -D${var}=... is missing")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus")
file(GLOB seeds "${SEEDS}/*")
if(seeds)
  file(COPY ${seeds} DESTINATION "${WORK}/corpus")
endif()

set(args -max_total_time=${SECONDS} -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
         -artifact_prefix=${WORK}/)
if(DEFINED DICT)
  list(APPEND args -dict=${DICT})
endif()
if(EXTRA)
  list(APPEND args ${EXTRA})
endif()
if(DEFINED SUPP) # LeakSanitizer suppressions (lsan.supp says why)
  set(ENV{LSAN_OPTIONS} "suppressions=${SUPP}:print_suppressions=0")
endif()
execute_process(COMMAND "${FUZZER}" ${args} "${WORK}/corpus" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); the input is in ${WORK}/")
endif()
