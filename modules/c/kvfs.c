// A file system of three files under its root: `motd` (a fixed greeting),
// `count` (how many times it was read) and `note` (64 bytes anyone may
// write). Mount it with `mount -t kvfs none /mnt` (modules/kvfs.wm in C).
#include <warden.h>

MODULE(kvfs, vfs("kvfs"));

#define ROOT 1
#define MOTD 2
#define COUNT 3
#define NOTE 4
#define FILE_SIZE 64

static const char greeting[] = "Hello from a verified vfs!\n";
#define MOTD_LEN (sizeof(greeting) - 1)

struct file {
	__u32 len;
	__u8 data[FILE_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct file);
	__uint(max_entries, 5);
} files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} reads SEC(".maps");

static __always_inline int matches(const __u8 *name, __u32 len, const char *word, __u32 word_len)
{
	if (len != word_len)
		return 0;
	for (__u32 i = 0; i < word_len; i++)
		if (name[i] != word[i])
			return 0;
	return 1;
}

SEC("vfs/lookup") long lookup(struct lookup_ctx *ctx)
{
	if (ctx->dir_ino != ROOT)
		return -ENOTDIR;
	if (matches(ctx->name, ctx->name_len, "motd", 4))
		return MOTD;
	if (matches(ctx->name, ctx->name_len, "count", 5))
		return COUNT;
	if (matches(ctx->name, ctx->name_len, "note", 4))
		return NOTE;
	return -ENOENT;
}

static __u64 note_len(void)
{
	__u32 key = NOTE;
	struct file *n = map_lookup(&files, &key);
	if (n)
		return n->len < FILE_SIZE ? n->len : FILE_SIZE;
	return 0;
}

SEC("vfs/getattr") long getattr(struct getattr_ctx *ctx)
{
	__u64 ino = ctx->ino;
	if (ino == ROOT) {
		ctx->mode = S_IFDIR | 0555;
		ctx->size = 0;
	} else if (ino == MOTD) {
		ctx->mode = S_IFREG | 0444;
		ctx->size = MOTD_LEN;
	} else if (ino == COUNT) {
		ctx->mode = S_IFREG | 0444;
		ctx->size = 20;
	} else if (ino == NOTE) {
		ctx->mode = S_IFREG | 0666;
		ctx->size = note_len();
	} else {
		return -ENOENT;
	}
	return 0;
}

SEC("vfs/readdir") long readdir(struct readdir_ctx *ctx)
{
	if (ctx->dir_ino != ROOT)
		return -ENOTDIR;
	switch (ctx->index) {
	case 0:
		emit_dirent(MOTD, "motd", 4);
		break;
	case 1:
		emit_dirent(COUNT, "count", 5);
		break;
	case 2:
		emit_dirent(NOTE, "note", 4);
		break;
	default:
		return 0;
	}
	return 1;
}

static __noinline void format_count(void)
{
	__u32 zero = 0, key = COUNT;
	__u64 n = 0;
	__u64 *r = map_lookup(&reads, &zero);
	if (r) {
		*r += 1;
		n = *r;
	}
	__u8 digits[20];
	__u32 k = 0;
	do {
		digits[k] = '0' + n % 10;
		n /= 10;
		k++;
	} while (n > 0 && k < 20);
	struct file *f = map_lookup(&files, &key);
	if (!f)
		return;
	for (__u32 i = 0; i < k && i < 20; i++)
		f->data[i] = digits[k - 1 - i];
	f->data[k] = '\n';
	f->len = k + 1;
}

SEC("vfs/read") long read(struct file_read_ctx *ctx)
{
	__u64 ino = ctx->ino;
	if (ino == MOTD) {
		__u32 key = MOTD;
		struct file *f = map_lookup(&files, &key);
		if (f) {
			__builtin_memcpy(f->data, greeting, MOTD_LEN);
			f->len = MOTD_LEN;
		}
	} else if (ino == COUNT) {
		format_count();
	} else if (ino != NOTE) {
		return -ENOENT;
	}
	__u32 key = ino;
	struct file *f = map_lookup(&files, &key);
	if (!f)
		return 0;
	__u64 len = f->len < FILE_SIZE ? f->len : FILE_SIZE;
	if (ctx->offset >= len)
		return 0;
	__u64 start = ctx->offset;
	__u64 count = len - start < ctx->len ? len - start : ctx->len;
	__u8 out[FILE_SIZE];
	// Counting in the loop keeps `n` the number the verifier saw checked
	// (a clamped copy of `count` may not be, with clang 19).
	__u64 n;
	for (n = 0; n < count && n < FILE_SIZE; n++)
		out[n] = f->data[(start + n) & (FILE_SIZE - 1)];
	return emit(out, n);
}

SEC("vfs/write") long write(struct file_write_ctx *ctx)
{
	if (ctx->ino != NOTE)
		return -EACCES;
	__u32 n = ctx->data_len < FILE_SIZE ? ctx->data_len : FILE_SIZE;
	__u32 key = NOTE;
	struct file *note = map_lookup(&files, &key);
	if (note) {
		for (__u32 i = 0; i < n && i < FILE_SIZE; i++)
			note->data[i] = ctx->data[i];
		note->len = n;
	}
	return n;
}
