# Records the git revision for `vigil version` at configure time.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  OUTPUT_VARIABLE VIGIL_GIT_REVISION OUTPUT_STRIP_TRAILING_WHITESPACE
  ERROR_QUIET RESULT_VARIABLE _vigil_git_rc)
if(NOT _vigil_git_rc EQUAL 0 OR NOT VIGIL_GIT_REVISION)
  set(VIGIL_GIT_REVISION "unknown")
endif()
