// A new system call (the next free number): counts the calls of each user
// and of everyone. Its argument asks: 0 for the caller's count, 1 for the
// total, 2 to forget the caller's count (modules/syscount.wm in C).
#include <warden.h>

MODULE(syscount, syscall(next));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 128);
} per_uid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} total SEC(".maps");

static __noinline __u64 bump_total(void)
{
	__u32 zero = 0;
	__u64 n = 0;
	__u64 *t = map_lookup(&total, &zero);
	if (t) {
		*t += 1;
		n = *t;
	}
	return n;
}

SEC("syscall/call") long call(struct syscall_ctx *ctx)
{
	__u64 all = bump_total();
	__u32 uid = ctx->uid;
	__u64 mine = 1;
	__u64 *c = map_lookup(&per_uid, &uid);
	if (c) {
		*c += 1;
		mine = *c;
	} else if (map_update(&per_uid, &uid, &mine, 0) != 0) {
		return -ENOMEM;
	}
	__u64 request = ctx->args[0];
	if (request == 0)
		return mine;
	if (request == 1)
		return all;
	if (request == 2) {
		map_delete(&per_uid, &uid);
		return 0;
	}
	return -EINVAL;
}
