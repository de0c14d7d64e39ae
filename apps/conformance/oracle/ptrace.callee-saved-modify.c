// oracle-scenario: ptrace.callee-saved-modify
// At the exit stop of getpid the tracer sets every callee-saved register to
// 0xca110000 + i; the registers user mode has right after the syscall instruction are
// the tracer's values.
#include "oracle.h"

static long long after[NCOMP];

static void body(void) {
  oracle_fill_sys_store(SYS_getpid, 0x6600, after);
  for (int i = 0; i < NCOMP; i++) S->child[i] = after[i];
}

static void set_reg(struct user_regs_struct *r, const char *name, unsigned long v) {
#if defined(__x86_64__)
  if (!strcmp(name, "rbx")) r->rbx = v;
  else if (!strcmp(name, "rbp")) r->rbp = v;
  else if (!strcmp(name, "r12")) r->r12 = v;
  else if (!strcmp(name, "r13")) r->r13 = v;
  else if (!strcmp(name, "r14")) r->r14 = v;
  else if (!strcmp(name, "r15")) r->r15 = v;
#else
  if (!strcmp(name, "ebx")) r->ebx = v;
  else if (!strcmp(name, "esi")) r->esi = v;
  else if (!strcmp(name, "edi")) r->edi = v;
  else if (!strcmp(name, "ebp")) r->ebp = v;
#endif
  else fail("no register %s", name);
}

int main(void) {
  shared_init();
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  struct ev x = tr_until(pid, EV_EXIT, SYS_getpid);
  for (int i = 0; i < NCALLEE; i++) set_reg(&x.regs, comp_names[callee_idx[i]], 0xca110000UL + i);
  tr_setregs(pid, &x.regs);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");

  int seen = 0;
  for (int i = 0; i < NCALLEE; i++) seen += S->child[callee_idx[i]] == (long long)(0xca110000UL + i);
  j_begin();
  j_int("registersChanged", seen);
  j_openarr("registersNotSeen");
  for (int i = 0; i < NCALLEE; i++)
    if (S->child[callee_idx[i]] != (long long)(0xca110000UL + i)) j_str(NULL, comp_names[callee_idx[i]]);
  j_closearr();
  j_end();
  return 0;
}
