// oracle-scenario: restart.no-restart-on-sigreturn
// kill(self, SIGUSR1); the SIGUSR1 handler (SIGUSR2 blocked while it runs) writes -513
// (-ERESTARTNOINTR) into the saved return register of its context and sends itself
// SIGUSR2, which is delivered on the way out of rt_sigreturn. The registers rt_sigreturn
// restored are not restarted: user mode sees -513 as kill's result.
#include "oracle.h"

static void h_usr1(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  uc->uc_mcontext.gregs[UC_RET] = -K_ERESTARTNOINTR;
  SYS2(SYS_kill, SYS0(SYS_getpid), SIGUSR2);
  count_handler(sig);
}

static void body(void) {
  if (ksigaction(SIGUSR1, (void *)h_usr1, SA_SIGINFO, 1ULL << (SIGUSR2 - 1), 1) != 0) rexit(101);
  handler_as_libc(SIGUSR2, count_handler, 0);
  S->ret = SYS2(SYS_kill, SYS0(SYS_getpid), SIGUSR1);
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  j_begin();
  j_int("ret", S->ret);
  j_int("handlers", S->handlers);
  j_open("syscallEntries");
  j_int("kill", count(SYS_kill));
  j_sigreturns();
  j_close();
  j_end();
  return 0;
}
