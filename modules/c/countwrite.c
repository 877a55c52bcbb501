// A second wrapper around write(2), meant to stack on top of `wrapwrite`:
// counts the calls each process makes and the total, and logs each time
// the total reaches a power of two; every call goes on (CHAIN) to what the
// slot held when it was loaded (modules/countwrite.wm in C).
#include <warden.h>

MODULE(countwrite, syscall(2));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} total SEC(".maps");

SEC("syscall/call") long call(struct syscall_ctx *ctx)
{
	__u32 pid = ctx->pid;
	__u64 *n = map_lookup(&calls, &pid);
	if (n) {
		*n += 1;
	} else {
		__u64 one = 1;
		map_update(&calls, &pid, &one, 0);
	}
	__u32 zero = 0;
	__u64 *t = map_lookup(&total, &zero);
	if (t) {
		*t += 1;
		__u64 seen = *t;
		if ((seen & (seen - 1)) == 0) {
			static const char msg[] = "countwrite: {} calls to write(2), the last by pid {}";
			log(msg, sizeof(msg) - 1, seen, pid);
		}
	}
	return CHAIN;
}
