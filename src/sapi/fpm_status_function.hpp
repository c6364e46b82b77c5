// fpm_get_status(): php-fpm's PHP function returning the pool's status as an array. The SAPI
// does not read the scoreboard itself: the worker installs a provider producing the same
// Snapshot the status page renders.
#pragma once

#include <functional>

#include "status/snapshot.hpp"

namespace php_pool::sapi {

// Without a provider, fpm_get_status() returns false (as php-fpm does when it cannot read its
// scoreboard). Pass nullptr to remove it.
void set_status_provider(std::function<status::Snapshot()> provider);

}  // namespace php_pool::sapi
