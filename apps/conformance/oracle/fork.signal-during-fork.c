// oracle-scenario: fork.signal-during-fork
// oracle-cflags: -pthread
// A non-fatal signal that arrives while fork is copying the task does not restart fork
// (Linux 5.0+: fork fails with -ERESTARTNOINTR only for a signal already pending when it
// starts; one arriving later is held until fork is done, and only a fatal one fails it).
// The task owns 30000 small populated mappings, so copying its mm takes tens of ms, all
// of it with the task's mmap lock held for writing. The tracer resumes it into fork; a
// thread of the tracer reads /proc/<pid>/maps, which needs that lock, and is still
// blocked 2 ms later: fork is past its signal check and copying. The tracer sends SIGUSR1
// then, and the read finishing only afterwards shows fork was still copying (else it tries
// again, up to 5 times). Result: fork is entered once, returns the child's pid, and then
// the handler runs.
#include "oracle.h"
#include <pthread.h>

#define NMAPS 30000

static void body(void) {
  handler_as_libc(SIGUSR1, count_handler, 0);
  long r = SYS0(SYS_fork);
  if (r == 0) rexit(0);
  S->ret = r;
  if (r > 0) {
    int st = 0;
    S->v[0] = SYS4(SYS_wait4, r, &st, 0, 0) == r && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
}

/* many small populated mappings (every other page read-only, so none merge): a slow fork */
static void many_mappings(void) {
  long pg = sysconf(_SC_PAGESIZE);
  char *m = mmap(NULL, NMAPS * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) _exit(110);
  for (long i = 0; i < NMAPS; i++) {
    m[i * pg] = 1;
    if ((i & 1) && mprotect(m + i * pg, pg, PROT_READ) != 0) _exit(111);
  }
}

static pid_t traced;
static volatile int reading, read_done;
static long long read_start, read_end;

/* reads /proc/<pid>/maps, which takes the task's mmap lock for reading */
static void *read_maps(void *arg) {
  (void)arg;
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/maps", (int)traced);
  int fd = open(path, O_RDONLY);
  read_start = now_ns();
  __atomic_store_n(&reading, 1, __ATOMIC_SEQ_CST);
  if (fd >= 0) {
    if (read(fd, buf, sizeof buf) < 0) {}
    close(fd);
  }
  read_end = now_ns();
  __atomic_store_n(&read_done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(void) {
  shared_init();
  tr_before_trace = many_mappings;
  for (int attempt = 0; attempt < 5; attempt++) {
    memset(tr_entries, 0, sizeof tr_entries);
    S->handlers = 0;
    reading = read_done = 0;
    pid_t pid = traced = tr_start(body);
    tr_cont(pid, 0);
    tr_until(pid, EV_ENTRY, SYS_fork);
    tr_cont(pid, 0);
    sleep_us(1000);
    pthread_t th;
    if (pthread_create(&th, NULL, read_maps, NULL) != 0) fail("pthread_create");
    while (!__atomic_load_n(&reading, __ATOMIC_SEQ_CST)) sleep_us(100);
    sleep_us(2000);
    int blocked = !__atomic_load_n(&read_done, __ATOMIC_SEQ_CST);
    long long t_kill = now_ns();
    kill(pid, SIGUSR1);
    pthread_join(th, NULL);
    struct ev x = tr_until(pid, EV_EXIT, SYS_fork);
    struct ev end = tr_finish(pid);
    if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");
    int inside = blocked && read_end > t_kill && read_end - read_start >= 3000000;
    if (!inside && attempt < 4) continue;

    j_begin();
    j_int("ret", S->ret);
    j_int("handlers", S->handlers);
    j_open("syscallEntries");
    j_int("fork", count(SYS_fork));
    j_close();
    j_bool("forkFailed", x.rval < 0);
    j_bool("childReaped", S->v[0] != 0);
    j_bool("signalArrivedDuringFork", inside);
    j_end();
    return 0;
  }
  return 0;
}
