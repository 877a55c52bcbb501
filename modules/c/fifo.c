// A first-in first-out pipe of 512 bytes as a character device: what is
// written to /dev/fifo is read back in order; a write to a full fifo fails
// with EAGAIN (modules/fifo.wm in C).
#include <warden.h>

MODULE(fifo, dev("fifo"));

#define SIZE 512

struct ring {
	__u32 head;
	__u32 used;
	__u8 data[SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct ring);
	__uint(max_entries, 1);
} ring SEC(".maps");

SEC("dev/write") long write(struct dev_write_ctx *ctx)
{
	__u32 taken = 0, zero = 0;
	struct ring *r = map_lookup(&ring, &zero);
	if (r) {
		__u32 used = r->used < SIZE ? r->used : SIZE;
		__u32 free = SIZE - used;
		__u32 n = ctx->data_len < free ? ctx->data_len : free;
		__u32 tail = (r->head + r->used) % SIZE;
		for (__u32 i = 0; i < n && i < SIZE; i++)
			r->data[(tail + i) % SIZE] = ctx->data[i];
		r->used += n;
		taken = n;
	}
	if (taken == 0 && ctx->data_len > 0)
		return -EAGAIN;
	return taken;
}

SEC("dev/read") long read(struct dev_read_ctx *ctx)
{
	__u8 out[256] = {};
	__u32 n = 0, zero = 0;
	struct ring *r = map_lookup(&ring, &zero);
	if (r) {
		__u32 count = r->used < ctx->len ? r->used : ctx->len;
		// Counting in the loop keeps `n` the number the verifier saw
		// checked (a clamped copy of `count` may not be, with clang 19).
		for (n = 0; n < count && n < sizeof(out); n++)
			out[n] = r->data[(r->head + n) % SIZE];
		r->head = (r->head + n) % SIZE;
		r->used -= n;
	}
	return emit(out, n);
}
