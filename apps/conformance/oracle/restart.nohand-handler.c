// oracle-scenario: restart.nohand-handler
// -ERESTARTNOHAND with a handler (SA_RESTART even): ppoll(NULL, 0, NULL, NULL, 8) sleeps,
// SIGUSR1 arrives, the handler runs, ppoll returns -EINTR.
#include "oracle.h"

static void body(void) {
  handler_as_libc(SIGUSR1, count_handler, SA_RESTART);
  S->ret = SYS5(SYS_ppoll, 0, 0, 0, 0, 8);
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_ppoll);
  kill(pid, SIGUSR1);
  struct ev x = tr_until(pid, EV_EXIT, SYS_ppoll);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("ppoll", count(SYS_ppoll));
  j_close();
  j_int("codeAtExitStop", x.rval);
  j_end();
  return 0;
}
