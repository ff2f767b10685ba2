/* term.c — see term.h. */
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "sanitize.h"
#include "term.h"

/* The terminal's state: the one place pscope keeps globals (see term.h). */
static SCREEN *screen;
static bool utf8, ascii_only;
static int attrs[ROLE_COUNT];
static struct termios saved_tios;
static bool have_tios;
/* What the crash handler writes: leave the alternate screen, show the
 * cursor, reset attributes.  Copied at open, written with write(2) only. */
static char reset_seq[256];
static size_t reset_len;

static void add_cap(const char *name)
{
	const char *s = tigetstr(name);
	if (!s || s == (char *)-1)
		return;
	size_t n = strlen(s);
	if (reset_len + n < sizeof(reset_seq)) {
		memcpy(reset_seq + reset_len, s, n);
		reset_len += n;
	}
}

static void on_crash(int sig)
{
	if (reset_len)
		(void)!write(STDOUT_FILENO, reset_seq, reset_len);
	if (have_tios)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tios);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void set_roles(bool color)
{
	/* Monochrome first: every role must stay distinguishable without hue. */
	int mono[ROLE_COUNT] = {
		[ROLE_TITLE] = A_BOLD | A_UNDERLINE, [ROLE_TAB] = 0, [ROLE_TAB_ACTIVE] = A_REVERSE | A_BOLD,
		[ROLE_LABEL] = A_BOLD, [ROLE_GROW] = A_BOLD, [ROLE_SHRINK] = 0, [ROLE_DIM] = A_DIM,
		[ROLE_NEW] = A_BOLD | A_UNDERLINE, [ROLE_SELECTED] = A_REVERSE, [ROLE_BAR_KEY] = A_REVERSE,
		[ROLE_BAR] = 0, [ROLE_GRAPH] = A_BOLD, [ROLE_WARN] = A_BOLD | A_REVERSE,
	};
	memcpy(attrs, mono, sizeof(attrs));
	if (!color || !has_colors() || start_color() == ERR)
		return;
	use_default_colors();
	struct { enum role r; short fg, bg; int extra; } hue[] = {
		{ ROLE_TITLE, COLOR_CYAN, -1, A_BOLD },
		{ ROLE_TAB, -1, -1, 0 },
		{ ROLE_TAB_ACTIVE, COLOR_BLACK, COLOR_CYAN, A_BOLD },
		{ ROLE_LABEL, COLOR_CYAN, -1, 0 },
		{ ROLE_GROW, COLOR_RED, -1, A_BOLD },
		{ ROLE_SHRINK, COLOR_GREEN, -1, 0 },
		{ ROLE_DIM, COLOR_BLUE, -1, A_BOLD },
		{ ROLE_NEW, COLOR_YELLOW, -1, A_BOLD },
		{ ROLE_SELECTED, COLOR_BLACK, COLOR_CYAN, 0 },
		{ ROLE_BAR_KEY, COLOR_BLACK, COLOR_CYAN, 0 },
		{ ROLE_BAR, -1, -1, 0 },
		{ ROLE_GRAPH, COLOR_GREEN, -1, 0 },
		{ ROLE_WARN, COLOR_WHITE, COLOR_RED, A_BOLD },
	};
	for (size_t i = 0; i < sizeof(hue) / sizeof(hue[0]); i++) {
		short pair = (short)(i + 1);
		if (init_pair(pair, hue[i].fg, hue[i].bg) == ERR)
			continue;
		attrs[hue[i].r] = (int)COLOR_PAIR(pair) | hue[i].extra;
	}
}

int term_open(bool color, bool ascii, char *err, size_t errlen)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen, "the interactive UI needs a terminal; use -b for batch output");
		return -1;
	}
	have_tios = tcgetattr(STDIN_FILENO, &saved_tios) == 0;
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		const char *t = getenv("TERM");
		snprintf(err, errlen, "cannot use terminal type '%.40s'; set TERM or use -b",
			 t ? t : "");
		return -1;
	}
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	ascii_only = ascii || !utf8;
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	set_roles(color);
	reset_len = 0;
	add_cap("sgr0");
	add_cap("cnorm");
	add_cap("rmcup");
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
	return 0;
}

void term_close(void)
{
	if (!screen)
		return;
	endwin();
	delscreen(screen);
	screen = NULL;
	reset_len = 0;
}

enum glyphs term_glyphs(void)
{
	return ascii_only ? GLYPHS_ASCII : GLYPHS_UTF8;
}

bool term_utf8(void)
{
	return !ascii_only;
}

int term_output_pending(void)
{
	int n = 0;
	if (ioctl(STDOUT_FILENO, TIOCOUTQ, &n) < 0)
		return 0;
	return n;
}

int term_put(int y, int x, int w, const char *s, enum role r)
{
	if (w <= 0)
		return 0;
	/* Count columns as the terminal will, so text never spills over the
	 * next column's cell. */
	mbstate_t st = { 0 };
	size_t len = strlen(s), at = 0;
	int cols = 0;
	while (at < len) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s + at, len - at, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
			break;
		int cw = wcwidth(wc);
		if (cw < 0)
			cw = 1;
		if (cols + cw > w)
			break;
		cols += cw;
		at += n;
	}
	attrset(attrs[r]);
	mvaddnstr(y, x, s, (int)at);
	return cols;
}

int term_text(int y, int x, int w, const char *raw, enum role r)
{
	char buf[1024];
	sanitize_bytes(raw ? raw : "", raw ? strlen(raw) : 0, buf, sizeof(buf), !ascii_only);
	return term_put(y, x, w, buf, r);
}

void term_blank(int y, int x, int w, enum role r)
{
	if (w <= 0)
		return;
	attrset(attrs[r]);
	mvhline(y, x, ' ' | (chtype)attrs[r], w);
}
