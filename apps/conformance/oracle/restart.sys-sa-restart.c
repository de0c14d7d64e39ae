// oracle-scenario: restart.sys-sa-restart
// -ERESTARTSYS with an SA_RESTART handler: read(0) on an empty pipe, SIGUSR1 arrives,
// the handler runs, the read is restarted and then gets "hello".
#include "oracle.h"

static int pipefd[2];
static char buf[16];

static void body(void) {
  if (dup2(pipefd[0], 0) != 0) rexit(100);
  handler_as_libc(SIGUSR1, count_handler, SA_RESTART);
  S->ret = SYS3(SYS_read, 0, buf, 16);
}

int main(void) {
  shared_init();
  if (pipe(pipefd) != 0) fail("pipe: %s", strerror(errno));
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_read);
  kill(pid, SIGUSR1);
  struct ev x = tr_until(pid, EV_EXIT, SYS_read);
  tr_cont(pid, 0);
  tr_until(pid, EV_ENTRY, SYS_read);
  if (write(pipefd[1], "hello", 5) != 5) fail("write: %s", strerror(errno));
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("read", count(SYS_read));
  j_sigreturns();
  j_close();
  j_int("codeAtExitStop", x.rval);
  j_end();
  return 0;
}
