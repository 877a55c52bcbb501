// A wrapper around write(2) (system call 2): refuses writes of more than
// 64 KiB with E2BIG, counts the bytes each process writes, and lets every
// other call go on to the original write (modules/wrapwrite.wm in C).
#include <warden.h>

MODULE(wrapwrite, syscall(2));

#define LIMIT 65536

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} written SEC(".maps");

SEC("syscall/call") long call(struct syscall_ctx *ctx)
{
	__u64 len = ctx->args[2];
	if (len > LIMIT) {
		static const char msg[] = "wrapwrite: pid {} tried to write {} bytes";
		log(msg, sizeof(msg) - 1, ctx->pid, len);
		return -E2BIG;
	}
	__u32 pid = ctx->pid;
	__u64 *n = map_lookup(&written, &pid);
	if (n)
		*n += len;
	else
		map_update(&written, &pid, &len, 0);
	return CHAIN;
}
