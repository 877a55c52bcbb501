// A driver for the PC's real-time clock (CMOS ports 0x70 and 0x71):
// reading /dev/rtc gives "YYYY-MM-DD HH:MM:SS\n"; the RTC_RD_TIME ioctl
// gives the time as a struct (modules/rtc.wm in C).
#include <warden.h>

MODULE(rtc, dev("rtc"));
PORTS(0x70, 0x71);

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define REG_SECONDS 0x00
#define REG_MINUTES 0x02
#define REG_HOURS 0x04
#define REG_DAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_STATUS_A 0x0a
#define REG_STATUS_B 0x0b
#define RTC_RD_TIME 0x7009

struct time {
	__u8 second, minute, hour, day, month;
	__u16 year;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct time);
	__uint(max_entries, 1);
} clock SEC(".maps");

static __u8 cmos(__u8 reg)
{
	outb(CMOS_INDEX, reg & 0x7f);
	return inb(CMOS_DATA);
}

static __u8 field(__u8 reg, int bcd)
{
	__u8 v = cmos(reg);
	return bcd ? (v >> 4) * 10 + (v & 0x0f) : v;
}

static __noinline void sample(void)
{
	for (int i = 0; i < 1024 && (cmos(REG_STATUS_A) & 0x80); i++)
		;
	int bcd = (cmos(REG_STATUS_B) & 0x04) == 0;
	__u32 zero = 0;
	struct time *t = map_lookup(&clock, &zero);
	if (t) {
		t->second = field(REG_SECONDS, bcd);
		t->minute = field(REG_MINUTES, bcd);
		t->hour = field(REG_HOURS, bcd) & 0x7f;
		t->day = field(REG_DAY, bcd);
		t->month = field(REG_MONTH, bcd);
		t->year = 2000 + field(REG_YEAR, bcd);
	}
}

SEC("dev/open") long open(struct open_ctx *ctx)
{
	return ctx->minor != 0 ? -ENXIO : 0;
}

SEC("dev/read") long read(struct dev_read_ctx *ctx)
{
	if (ctx->offset > 0)
		return 0;
	sample();
	char line[20];
	__builtin_memcpy(line, "2000-01-01 00:00:00\n", 20);
	__u32 zero = 0;
	struct time *t = map_lookup(&clock, &zero);
	if (t) {
		__u16 y = t->year;
		line[0] = '0' + y / 1000 % 10;
		line[1] = '0' + y / 100 % 10;
		line[2] = '0' + y / 10 % 10;
		line[3] = '0' + y % 10;
		line[5] = '0' + t->month / 10;
		line[6] = '0' + t->month % 10;
		line[8] = '0' + t->day / 10;
		line[9] = '0' + t->day % 10;
		line[11] = '0' + t->hour / 10;
		line[12] = '0' + t->hour % 10;
		line[14] = '0' + t->minute / 10;
		line[15] = '0' + t->minute % 10;
		line[17] = '0' + t->second / 10;
		line[18] = '0' + t->second % 10;
	}
	return emit(line, ctx->len < 20 ? ctx->len : 20);
}

SEC("dev/ioctl") long ioctl(struct ioctl_ctx *ctx)
{
	if (ctx->cmd != RTC_RD_TIME)
		return -ENOTTY;
	sample();
	__u32 zero = 0;
	struct time *t = map_lookup(&clock, &zero);
	if (t) {
		struct time copy = *t;
		emit(&copy, sizeof(copy));
	}
	return 0;
}
