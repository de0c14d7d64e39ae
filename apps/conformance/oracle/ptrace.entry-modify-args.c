// oracle-scenario: ptrace.entry-modify-args
// At the entry stop of getpid the tracer rewrites the syscall number to write and the
// arguments to (1, "traced!", 7): the kernel runs write with the new values; getpid never
// runs; user mode gets 7; the task's stdout (a pipe) holds "traced!".
#include "oracle.h"

static const char msg[] = "traced!";
static int outpipe[2];

static void body(void) {
  if (dup2(outpipe[1], 1) != 1) rexit(100);
  S->ret = SYS0(SYS_getpid);
}

int main(void) {
  shared_init();
  if (pipe(outpipe) != 0) fail("pipe: %s", strerror(errno));
  pid_t pid = tr_start(body);
  tr_cont(pid, 0);
  struct ev e = tr_until(pid, EV_ENTRY, SYS_getpid);
  R_NR(e.regs) = SYS_write;
  R_A0(e.regs) = 1;
  R_A1(e.regs) = (unsigned long)msg;
  R_A2(e.regs) = 7;
  tr_setregs(pid, &e.regs);
  tr_cont(pid, 0);
  struct ev x = tr_until(pid, EV_EXIT, -1);
  struct ev end = tr_finish(pid);
  if (end.kind != EV_EXITED || end.code != 0) fail("the traced task did not exit 0");
  close(outpipe[1]);
  char out[64] = {0};
  ssize_t n = read(outpipe[0], out, sizeof out - 1);
  if (n < 0) n = 0;
  out[n] = 0;

  j_begin();
  j_int("ret", S->ret);
  j_open("syscallEntries");
  j_int("getpid", count(SYS_getpid));
  j_int("write", count(SYS_write));
  j_close();
  j_openarr("args");
  j_ureg(NULL, R_A0(x.regs));
  j_ureg(NULL, R_A1(x.regs));
  j_ureg(NULL, R_A2(x.regs));
  j_closearr();
  j_str("exitStopNr", sysname(x.nr));
  j_str("output", out);
  j_end();
  return 0;
}
