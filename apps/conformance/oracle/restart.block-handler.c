// oracle-scenario: restart.block-handler
// -ERESTART_RESTARTBLOCK with a handler (SA_RESTART): nanosleep(10 s) is interrupted by
// SIGUSR1; the handler runs; nanosleep returns -EINTR with the remaining time written;
// restart_syscall is never entered.
#include "oracle.h"

static void body(void) {
  struct timespec ts = {10, 0}, rem = {0, 0};
  handler_as_libc(SIGUSR1, count_handler, SA_RESTART);
  S->ret = SYS2(SYS_nanosleep, &ts, &rem);
  S->v[0] = rem.tv_sec > 0 && rem.tv_sec <= 10;
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_nanosleep);
  kill(pid, SIGUSR1);
  struct ev x = tr_until(pid, EV_EXIT, SYS_nanosleep);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("nanosleep", count(SYS_nanosleep));
  j_int("restart_syscall", count(SYS_restart_syscall));
  j_close();
  j_int("codeAtExitStop", x.rval);
  j_bool("remainingWritten", S->v[0] != 0);
  j_end();
  return 0;
}
