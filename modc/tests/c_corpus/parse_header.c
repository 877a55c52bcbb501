// expect: 4660
// Parses a header out of a byte buffer the way packet parsers do: an
// offset checked against the length before each read.
#include <warden.h>
MODULE(parse_header, misc);

struct hdr {
	__u8 kind;
	__u8 len;
	__u16 id;
};

SEC("misc/load") long load(struct load_ctx *ctx)
{
	__u8 data[16] = { 9, 4, 0, 0, 1, 4, 0x34, 0x12 };
	__u32 off = 0;
	__u32 size = sizeof(data);
	for (int hop = 0; hop < 4; hop++) {
		if (off + sizeof(struct hdr) > size)
			return -1;
		struct hdr h;
		__builtin_memcpy(&h, &data[off], sizeof(h));
		if (h.kind == 1)
			return h.id;
		if (h.len == 0)
			return -2;
		off += h.len;
	}
	return -3;
}
