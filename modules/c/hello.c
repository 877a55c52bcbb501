// A miscellaneous module: logs when it is loaded and unloaded, and counts
// timer ticks in a map, logging every thousandth (modules/hello.wm in C).
#include <warden.h>

MODULE(hello, misc);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} ticks SEC(".maps");

SEC("misc/load") long load(struct load_ctx *ctx)
{
	static const char msg[] = "hello: loaded as module {}";
	log(msg, sizeof(msg) - 1, ctx->module_id, 0);
	return 0;
}

SEC("misc/tick") long tick(struct tick_ctx *ctx)
{
	__u32 zero = 0;
	__u64 *n = map_lookup(&ticks, &zero);
	if (n) {
		*n += 1;
		if (*n % 1000 == 0) {
			static const char msg[] = "hello: {} ticks, uptime {} ms";
			log(msg, sizeof(msg) - 1, *n, ctx->uptime_ns / 1000000);
		}
	}
	return 0;
}

SEC("misc/unload") long unload(struct load_ctx *ctx)
{
	__u32 zero = 0;
	__u64 seen = 0;
	__u64 *n = map_lookup(&ticks, &zero);
	if (n)
		seen = *n;
	static const char msg[] = "hello: unloaded after {} ticks";
	log(msg, sizeof(msg) - 1, seen, 0);
	return 0;
}
