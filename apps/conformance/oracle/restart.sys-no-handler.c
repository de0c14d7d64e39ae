// oracle-scenario: restart.sys-no-handler
// oracle-aliases: restart.sys-no-handler-in-kernel
// -ERESTARTSYS with no handler: a read(0) on an empty pipe is stopped (SIGSTOP) and
// continued (SIGCONT); the kernel restarts the read, which then gets "hello".
#include "oracle.h"

static int pipefd[2];
static char buf[16];

static void body(void) {
  if (dup2(pipefd[0], 0) != 0) rexit(100);
  S->ret = SYS3(SYS_read, 0, buf, 16);
}

int main(void) {
  shared_init();
  if (pipe(pipefd) != 0) fail("pipe: %s", strerror(errno));
  pid_t pid = tr_start(body);
  tr_run_to_sleep(pid, SYS_read);
  kill(pid, SIGSTOP); /* no handler: a stop, then (tr_until) a continue */
  struct ev x = tr_until(pid, EV_EXIT, SYS_read);
  tr_step_begin(pid);
  tr_cont(pid, 0);
  struct ev e2 = tr_until(pid, EV_ENTRY, -1);
  if (write(pipefd[1], "hello", 5) != 5) fail("write: %s", strerror(errno));
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("read", count(SYS_read));
  j_close();
  j_int("userInsnsBetweenEntries", tr_insns);
  j_int("codeAtExitStop", x.rval);
  j_str("nrAtRewoundPc", sysname(e2.nr));
  j_int("pcRewind", (long long)(x.ip - (e2.ip - SYSCALL_INSN_LEN)));
  j_end();
  return 0;
}
