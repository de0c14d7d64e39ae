// oracle-scenario: restart.two-handlers-one-restart
// Two signals with SA_RESTART handlers on one syscall exit: read(0) on an empty pipe is
// interrupted by SIGUSR1, and SIGUSR2 is queued at the exit stop, so both are delivered
// on the same way out. The read is rewound once: both handlers run, read is entered
// twice and then gets "hello".
#include "oracle.h"

static int pipefd[2];
static char buf[16];

static void body(void) {
  if (dup2(pipefd[0], 0) != 0) rexit(100);
  handler_as_libc(SIGUSR1, count_handler, SA_RESTART);
  handler_as_libc(SIGUSR2, count_handler, SA_RESTART);
  S->ret = SYS3(SYS_read, 0, buf, 16);
}

int main(void) {
  shared_init();
  if (pipe(pipefd) != 0) fail("pipe: %s", strerror(errno));
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_read);
  kill(pid, SIGUSR1);
  struct ev x = tr_until(pid, EV_EXIT, SYS_read);
  kill(pid, SIGUSR2);
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
  j_openarr("handlerOrder");
  for (int i = 0; i < S->norder; i++) j_str(NULL, signame(S->order[i]));
  j_closearr();
  j_int("codeAtExitStop", x.rval);
  j_end();
  return 0;
}
