// oracle-scenario: signal.context-edit
// A handler that edits its saved context sees its edits take effect: the task fills its
// registers and calls sched_yield; SIGUSR1 (pending from the entry stop) runs a handler
// that writes 0xed170001 / 0xed170002 into the first two callee-saved registers of the
// ucontext; after rt_sigreturn user mode has those values, and the third callee-saved
// register kept its pattern.
#include "oracle.h"

static long long after[NCOMP];
#if defined(__x86_64__)
static const int uc_reg[2] = {REG_RBX, REG_RBP};
#else
static const int uc_reg[2] = {REG_EBX, REG_ESI};
#endif

static void h_edit(int sig, siginfo_t *si, void *ctx) {
  (void)si;
  ucontext_t *uc = ctx;
  uc->uc_mcontext.gregs[uc_reg[0]] = 0xed170001;
  uc->uc_mcontext.gregs[uc_reg[1]] = 0xed170002;
  count_handler(sig);
}

static void body(void) {
  if (ksigaction(SIGUSR1, (void *)h_edit, SA_SIGINFO, 0, 1) != 0) rexit(101);
  oracle_fill_sys_store(SYS_sched_yield, 0x5500, after);
  for (int i = 0; i < NCOMP; i++) S->child[i] = after[i];
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  tr_until(pid, EV_ENTRY, SYS_sched_yield);
  kill(pid, SIGUSR1);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  int c0 = callee_idx[0], c1 = callee_idx[1], c2 = callee_idx[2];
  j_begin();
  j_int("handlers", S->handlers);
  j_open("edited");
  j_hex(comp_names[c0], S->child[c0]);
  j_hex(comp_names[c1], S->child[c1]);
  j_close();
  j_bool("uneditedKept", S->child[c2] == fill_value(0x5500, c2));
  j_end();
  return 0;
}
