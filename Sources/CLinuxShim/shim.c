#include "CLinuxShim.h"

#include <string.h>
#include <sys/socket.h>
#include <linux/fs.h>

int CLinuxShim_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int CLinuxShim_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}

int CLinuxShim_epoll_wait(int epfd, uint64_t *tokens, uint32_t *flags, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        flags[i] = evs[i].events;
    }
    return n;
}

int CLinuxShim_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int CLinuxShim_timerfd_create(void) {
    return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
}

int CLinuxShim_timerfd_set_absolute(int fd, int64_t sec, int64_t nsec) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = sec;
    spec.it_value.tv_nsec = nsec;
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

static void fill(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int CLinuxShim_signalfd(const int *signals, int count) {
    sigset_t set;
    fill(&set, signals, count);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int CLinuxShim_block_signals(const int *signals, int count) {
    sigset_t set;
    fill(&set, signals, count);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int CLinuxShim_unblock_signals(const int *signals, int count) {
    sigset_t set;
    fill(&set, signals, count);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int CLinuxShim_signalfd_read(int fd, int32_t *pid) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return -1;
    if (n != sizeof info) return 0;
    if (pid) *pid = (int32_t)info.ssi_pid;
    return (int)info.ssi_signo;
}

int CLinuxShim_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }

#include <fcntl.h>

int CLinuxShim_output_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    int flags = fcntl(fds[0], F_GETFL);
    if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK) != 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved;
        return -1;
    }
    return 0;
}

int CLinuxShim_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int CLinuxShim_errno(void) { return errno; }

int CLinuxShim_rename_exchange(const char *a, const char *b) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

pid_t CLinuxShim_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int output_fd) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return -1;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        int failure;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* exec resets caught signals by itself; only ignored ones would be inherited. */
        static const int ignorable[] = {SIGPIPE, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2};
        for (unsigned i = 0; i < sizeof ignorable / sizeof ignorable[0]; i++) signal(ignorable[i], SIG_DFL);
        if (setpgid(0, 0) != 0) goto fail;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) goto fail;
        if (getppid() != parent) _exit(127);  /* the parent died before the line above */
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, 0) < 0) goto fail;
        if (dup2(output_fd, 1) < 0 || dup2(output_fd, 2) < 0) goto fail;
        if (cwd && chdir(cwd) != 0) goto fail;
        execve(path, argv, envp);
    fail:
        failure = errno;
        (void)!write(report[1], &failure, sizeof failure);
        _exit(127);
    }
    close(report[1]);
    int failure = 0;
    ssize_t n;
    do { n = read(report[0], &failure, sizeof failure); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof failure) {
        waitpid(pid, NULL, 0);
        errno = failure;
        return -1;
    }
    return pid;
}

int CLinuxShim_accept(int listener, struct sockaddr_in *peer) {
    socklen_t length = sizeof(struct sockaddr_in);
    return accept4(listener, (struct sockaddr *)peer, peer ? &length : NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
