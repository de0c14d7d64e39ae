// oracle-scenario: ptrace.sigkill-short-circuit
// At the entry stop of write(1, "oops", 4) the tracer resumes with PTRACE_CONT and
// SIGKILL: the write never runs (the task's stdout, a pipe, stays empty), the task goes
// no further and dies of SIGKILL.
#include "oracle.h"

static int outpipe[2];

static void body(void) {
  if (dup2(outpipe[1], 1) != 1) rexit(100);
  S->ret = SYS3(SYS_write, 1, "oops", 4);
  S->v[0] = 1; /* the task went on: it would call exit next */
}

int main(void) {
  shared_init();
  if (pipe(outpipe) != 0) fail("pipe: %s", strerror(errno));
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  tr_until(pid, EV_ENTRY, SYS_write);
  tr_cont_req(pid, SIGKILL, PTRACE_CONT);
  struct ev end = tr_until(pid, EV_ANY, 0);
  close(outpipe[1]);
  char out[64] = {0};
  ssize_t n = read(outpipe[0], out, sizeof out - 1);
  if (n < 0) n = 0;
  out[n] = 0;

  j_begin();
  j_int("killedBy", end.kind == EV_KILLED ? end.sig : 0);
  j_open("syscallEntries");
  j_int("write", n > 0 ? 1 : 0);
  j_int("exit", S->v[0] ? 1 : 0);
  j_close();
  j_str("output", out);
  j_end();
  return 0;
}
