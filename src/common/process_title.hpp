// What ps and pgrep -f show for a worker: "php-pool: pool NAME", as php-fpm's "php-fpm: pool
// NAME", instead of the manager's command line it was forked with.
#pragma once

#include <string>

namespace php_pool::process_title {

// In main(): where the command line's strings are (the title is written over them).
void remember(int argc, char** argv);

// Replaces the command line shown for this process, cut to the room the original had. Only
// for a worker: the manager keeps its own (it reads it back to re-execute itself).
void set(const std::string& title);

}  // namespace php_pool::process_title
