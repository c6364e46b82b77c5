// Builds a status Snapshot from the shared scoreboard and the pool's listening sockets. Used by
// the worker that answers the status page and fpm_get_status(), and usable by the manager
// (D-Bus GetStatus) alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scoreboard/scoreboard.hpp"
#include "status/snapshot.hpp"

namespace php_pool::status {

// The accept queue of a listening socket: `current` connections waiting, `max` the backlog
// limit. TCP (v4/v6) through TCP_INFO (tcpi_unacked / tcpi_sacked), unix sockets through
// NETLINK_SOCK_DIAG (UDIAG_SHOW_RQLEN: udiag_rqueue / udiag_wqueue), the socket found by the
// inode fstat() gives. False (and 0, 0) when neither answers.
bool listen_queue(int fd, unsigned& current, unsigned& max);

// One scoreboard slot as a php-fpm process row. `now_real_us` / `now_mono_us` are
// scoreboard::now_realtime_us() / now_monotonic_us().
ProcessRow process_row(const scoreboard::SlotView& slot, uint64_t now_real_us,
                       uint64_t now_mono_us);

// The pool's status. idle/active/total count the workers of the newest generation present
// (Idle or Starting are idle, every other stage active, as the manager counts them); the
// process rows list every used slot. The listen queue sums over `listen_fds` (the request
// sockets, not pm.status_listen's), and the board's max_listen_queue and max_active_processes
// counters are raised to what is seen now.
Snapshot from_scoreboard(scoreboard::Scoreboard& board, const std::string& pool,
                         const std::string& process_manager, const std::vector<int>& listen_fds);

}  // namespace php_pool::status
