// sse_probe.c — change on disk → every SSE client has it.
//
//   sse_probe PORT ROOT CLIENTS ROUNDS
//
// Opens CLIENTS connections to /stream, then ROUNDS times appends one event line to the log
// (ROOT/events/2026-11-26/…, as the observer would), takes t0 before the write, and waits until
// every client has read "id: SEQ" — each client's latency is recorded. Prints percentiles
// over all deliveries, in microseconds.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe_stats.h"

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: sse_probe PORT ROOT CLIENTS ROUNDS\n"); return 2; }
  int port = atoi(argv[1]), clients = atoi(argv[3]), rounds = atoi(argv[4]);
  const char *root = argv[2];
  struct rlimit limit = {65536, 65536};
  setrlimit(RLIMIT_NOFILE, &limit);
  int ep = epoll_create1(0);
  int *fds = calloc(clients, sizeof *fds);
  char request[256];
  snprintf(request, sizeof request, "GET /stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
  for (int i = 0; i < clients; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fds[i], (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
    if (write(fds[i], request, strlen(request)) < 0) { perror("write"); return 1; }
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  usleep(500000);  // let every stream open and send its first summary
  char buf[1 << 16];
  for (int i = 0; i < clients; i++) while (read(fds[i], buf, sizeof buf) > 0) {}
  char dir[2048], path[4096];
  snprintf(dir, sizeof dir, "%s/events/2026-11-26", root);
  mkdir(dir, 0755);
  snprintf(path, sizeof path, "%s/000000000001.jsonl", dir);
  double *lat = calloc((size_t)clients * rounds, sizeof *lat);
  long got = 0, lost = 0;
  char *seen = calloc(clients, 1);
  struct epoll_event events[256];
  for (int round = 1; round <= rounds; round++) {
    char line[512], want[64];
    int n = snprintf(line, sizeof line,
                     "{\"specversion\":\"1.0\",\"id\":\"sse-%d\",\"source\":\"bench\",\"type\":\"bench.tick\",\"time\":\"2026-11-26T15:00:00Z\","
                     "\"seq\":%d,\"receivedAt\":\"2026-11-26T15:00:00.000Z\"}\n", round, round);
    snprintf(want, sizeof want, "id: %d\n", round);
    memset(seen, 0, clients);
    int remaining = clients;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    double t0 = now();
    if (write(fd, line, n) != n) { perror("append"); return 1; }
    close(fd);
    while (remaining > 0 && now() - t0 < 5) {
      int k = epoll_wait(ep, events, 256, 100);
      for (int e = 0; e < k; e++) {
        int i = events[e].data.u32;
        ssize_t r;
        while ((r = read(fds[i], buf, sizeof buf - 1)) > 0) {
          buf[r] = 0;
          if (!seen[i] && strstr(buf, want)) { seen[i] = 1; remaining--; lat[got++] = (now() - t0) * 1e6; }
        }
      }
    }
    lost += remaining;
    usleep(20000);
  }
  printf("sse clients=%d rounds=%d deliveries=%ld lost=%ld", clients, rounds, got, lost);
  if (got) print_percentiles(lat, got); else printf("\n");
  return lost ? 3 : 0;
}
