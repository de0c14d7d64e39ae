// oracle-scenario: restart.nointr-handler
// -ERESTARTNOINTR: fork with SIGUSR1 already pending when it starts (the tracer sends it at
// the fork entry stop) fails with -ERESTARTNOINTR; the handler (no SA_RESTART) runs and
// fork is restarted anyway and returns the child's pid; the child is reaped.
#include "oracle.h"

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

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  tr_until(pid, EV_ENTRY, SYS_fork);
  kill(pid, SIGUSR1); /* pending when fork begins */
  tr_cont(pid, 0);
  struct ev x = tr_until(pid, EV_EXIT, SYS_fork);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("fork", count(SYS_fork));
  j_close();
  j_int("codeAtExitStop", x.rval);
  j_bool("childReaped", S->v[0] != 0);
  j_end();
  return 0;
}
