# trailkeep_enable_warnings(target): the warning set every first-party target builds with.
function(trailkeep_enable_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wimplicit-fallthrough)
  if(TRAILKEEP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
