// The few Linux facilities Swift's Glibc module does not export (or exports only as
// macros): epoll, eventfd, timerfd, signalfd, inotify, pidfd, prctl, renameat2, getrandom
// and malloc_trim. Each helper is a direct pass-through; errno is left exactly as the kernel
// set it.
#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H

#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// epoll_event is packed on x86_64; these keep Swift away from its layout.
int CLinuxShim_epoll_create(void);
int CLinuxShim_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token);
// Waits for up to `max` events; fills `tokens` and `flags` pairwise.
int CLinuxShim_epoll_wait(int epfd, uint64_t *tokens, uint32_t *flags, int max, int timeout_ms);

int CLinuxShim_eventfd(void);
int CLinuxShim_timerfd_create(void);
// Arms a one-shot monotonic timer at an absolute deadline; 0/0 disarms it.
int CLinuxShim_timerfd_set_absolute(int fd, int64_t sec, int64_t nsec);

// A signalfd for `signals` (a list of `count` signal numbers), non-blocking, close-on-exec.
int CLinuxShim_signalfd(const int *signals, int count);
// Blocks `signals` in the calling thread (and the threads it creates afterwards).
int CLinuxShim_block_signals(const int *signals, int count);
int CLinuxShim_unblock_signals(const int *signals, int count);
// Reads one siginfo from a signalfd; returns the signal number, or -1 with errno
// (EAGAIN when none is pending).
int CLinuxShim_signalfd_read(int fd, int32_t *pid);

int CLinuxShim_inotify_init(void);

// A pipe for a child's output: fds[0] (ours) non-blocking, fds[1] (the child's) blocking;
// both close-on-exec (the child gets fds[1] through dup2, which clears the flag).
int CLinuxShim_output_pipe(int fds[2]);

int CLinuxShim_pidfd_open(pid_t pid);

// Atomically swaps the two names (renameat2 with RENAME_EXCHANGE); -1 with errno on failure.
int CLinuxShim_rename_exchange(const char *a, const char *b);

// Accepts a connection as a non-blocking, close-on-exec socket (accept4); -1 with errno.
// The peer's IPv4 address lands in *peer (may be NULL).
int CLinuxShim_accept(int listener, struct sockaddr_in *peer);

// Starts `path` with `argv` and `envp` (NULL-terminated) in `cwd`, its stdout and stderr on
// `output_fd`, stdin from /dev/null, in a new process group, with SIGKILL as its parent-death
// signal and default signal dispositions and mask. fork and exec happen here, in C, so the
// child runs nothing but async-signal-safe calls. Returns the pid, or -1 with errno (an exec
// failure is reported through a close-on-exec pipe, so it is errno too).
pid_t CLinuxShim_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int output_fd);

int CLinuxShim_errno(void);

#endif
