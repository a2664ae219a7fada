/*
 * document.c — documents for people: a route marked `document` returns
 * {"format": "html"|"pdf", "lines": "<title>\n<label>\t<value>\n..."} (a receipt:
 * pg_wallet.receipt_layout), and this file renders those lines as an HTML page or a PDF
 * (libharu, Debian's libhpdf: its standard Helvetica needs no font file).
 *
 * Owns: the look of a document (one layout for both formats), HTML escaping, the PDF's
 * WinAnsi text (UTF-8 outside it becomes '?'; the HTML page keeps every character), and the
 * content type of the reply. Must never decide what a document says (the SQL function did)
 * and never reply or send anything itself (reply.c does, or answers a 500).
 */
#define _GNU_SOURCE				/* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpdf.h>

#include "bridge.h"

#define DOC_LINES_MAX 64
#define DOC_TEXT_MAX 16384

/* The document's fields: the title and label/value lines, pointing into one buffer. */
typedef struct Doc
{
	char		text[DOC_TEXT_MAX];
	const char *title;
	const char *label[DOC_LINES_MAX];
	const char *value[DOC_LINES_MAX];
	int			n;
} Doc;

static int
hex4(const char *p, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];
		int			d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		*out = *out * 16 + (unsigned) d;
	}
	return 0;
}

/* One code point as UTF-8 into dst (room for 4); its length. */
static size_t
utf8_put(char *dst, unsigned cp)
{
	if (cp < 0x80)
		return (size_t) (dst[0] = (char) cp, 1);
	if (cp < 0x800)
	{
		dst[0] = (char) (0xC0 | (cp >> 6));
		dst[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		dst[0] = (char) (0xE0 | (cp >> 12));
		dst[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		dst[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	dst[0] = (char) (0xF0 | (cp >> 18));
	dst[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	dst[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	dst[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * The string value of a top-level member of a JSON object, unescaped into dst (cap bytes,
 * NUL-terminated); -1 when absent, not a string or too long. In valid JSON the text
 * "key": " occurs only as a member: within a string every quote is escaped.
 */
static int
json_member_string(const char *json, size_t len, const char *key, char *dst, size_t cap)
{
	char		pattern[64];
	const char *p,
			   *end = json + len;
	size_t		n = 0;

	snprintf(pattern, sizeof(pattern), "\"%s\": \"", key);
	p = memmem(json, len, pattern, strlen(pattern));
	if (!p)
		return -1;
	for (p += strlen(pattern); p < end && *p != '"'; p++)
	{
		char		tmp[4];
		size_t		k = 1;
		unsigned	cp,
					lo;

		tmp[0] = *p;
		if (*p == '\\' && p + 1 < end)
		{
			p++;
			switch (*p)
			{
				case 'n':
					tmp[0] = '\n';
					break;
				case 't':
					tmp[0] = '\t';
					break;
				case 'r':
					tmp[0] = '\r';
					break;
				case 'b':
					tmp[0] = '\b';
					break;
				case 'f':
					tmp[0] = '\f';
					break;
				case 'u':
					if (end - p < 5 || hex4(p + 1, &cp) != 0)
						return -1;
					p += 4;
					if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 7 && p[1] == '\\' &&
						p[2] == 'u' && hex4(p + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000)
					{
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						p += 6;
					}
					else if (cp >= 0xD800 && cp < 0xE000)
						cp = '?';
					k = utf8_put(tmp, cp);
					break;
				default:		/* \" \\ \/ */
					tmp[0] = *p;
					break;
			}
		}
		if (n + k + 1 > cap)
			return -1;
		memcpy(dst + n, tmp, k);
		n += k;
	}
	if (p >= end)
		return -1;
	dst[n] = '\0';
	return (int) n;
}

/* Split "title\nlabel\tvalue\n..." in place; -1 when it is not such text. */
static int
doc_parse(Doc *d)
{
	char	   *line = d->text;

	d->title = line;
	d->n = 0;
	line = strchr(line, '\n');
	while (line)
	{
		char	   *tab;

		*line++ = '\0';
		if (d->n == DOC_LINES_MAX || !(tab = strchr(line, '\t')))
			return -1;
		*tab = '\0';
		d->label[d->n] = line;
		d->value[d->n++] = tab + 1;
		line = strchr(tab + 1, '\n');
	}
	return 0;
}

/* Append text to buf, HTML-escaped; -1 when it does not fit. */
static int
html_put(char *buf, size_t cap, size_t *n, const char *text, int escape)
{
	for (const char *c = text; *c; c++)
	{
		const char *rep = NULL;
		char		one[2] = {*c, '\0'};
		size_t		k;

		if (escape)
			rep = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;" :
				*c == '"' ? "&quot;" : *c == '\'' ? "&#39;" : NULL;
		if (!rep)
			rep = one;
		k = strlen(rep);
		if (*n + k >= cap)
			return -1;
		memcpy(buf + *n, rep, k);
		*n += k;
	}
	return 0;
}

static size_t
doc_html(const Doc *d, char *buf, size_t cap)
{
	size_t		n = 0;
	int			err = 0;

	err |= html_put(buf, cap, &n, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
					"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
					"<title>", 0);
	err |= html_put(buf, cap, &n, d->title, 1);
	err |= html_put(buf, cap, &n, "</title><style>body{font-family:sans-serif;max-width:40em;"
					"margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;"
					"width:100%}th{text-align:left;padding:.4em 1em .4em 0;color:#555;"
					"vertical-align:top;white-space:nowrap}td{padding:.4em 0;"
					"overflow-wrap:anywhere}tr{border-bottom:1px solid #ddd}</style></head>"
					"<body><h1>", 0);
	err |= html_put(buf, cap, &n, d->title, 1);
	err |= html_put(buf, cap, &n, "</h1><table>\n", 0);
	for (int i = 0; i < d->n && !err; i++)
	{
		err |= html_put(buf, cap, &n, "<tr><th>", 0);
		err |= html_put(buf, cap, &n, d->label[i], 1);
		err |= html_put(buf, cap, &n, "</th><td>", 0);
		err |= html_put(buf, cap, &n, d->value[i], 1);
		err |= html_put(buf, cap, &n, "</td></tr>\n", 0);
	}
	err |= html_put(buf, cap, &n, "</table></body></html>\n", 0);
	return err ? 0 : n;
}

/* UTF-8 as WinAnsi (Latin-1 and a few CP1252 marks), '?' for the rest, into dst. */
static void
winansi(const char *src, char *dst, size_t cap)
{
	const unsigned char *s = (const unsigned char *) src;
	size_t		n = 0;

	while (*s && n + 1 < cap)
	{
		unsigned	cp = *s++;
		int			more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;

		if (cp >= 0x80 && cp < 0xC0)
			cp = '?';
		else if (more)
		{
			cp &= 0x3F >> more;
			for (; more > 0 && (*s & 0xC0) == 0x80; more--)
				cp = (cp << 6) | (*s++ & 0x3F);
			if (more)
				cp = '?';
		}
		dst[n++] = (char) (cp >= 0x20 && cp < 0x7F ? cp : cp >= 0xA0 && cp <= 0xFF ? cp :
						   cp == 0x20AC ? 0x80 : cp == 0x2013 ? 0x96 : cp == 0x2014 ? 0x97 :
						   cp == 0x2018 ? 0x91 : cp == 0x2019 ? 0x92 : cp == 0x201C ? 0x93 :
						   cp == 0x201D ? 0x94 : cp == 0x2022 ? 0x95 : cp == 0x2026 ? 0x85 : '?');
	}
	dst[n] = '\0';
}

static void
pdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user_data)
{
	(void) detail_no;
	*(HPDF_STATUS *) user_data = error_no;
}

/* value from (x, *y), wrapped at word boundaries within width; *y moves down. */
static void
pdf_wrapped(HPDF_Page page, const char *value, float x, float *y, float width, float leading)
{
	char		text[4096];
	const char *p = text;

	winansi(value, text, sizeof(text));
	do
	{
		HPDF_REAL	used;
		HPDF_UINT	k = HPDF_Page_MeasureText(page, p, width, HPDF_TRUE, &used);
		char		line[4096];

		if (k == 0)				/* one word wider than the column: cut it */
			k = HPDF_Page_MeasureText(page, p, width, HPDF_FALSE, &used);
		if (k == 0)
			k = 1;
		memcpy(line, p, k);
		line[k] = '\0';
		HPDF_Page_TextOut(page, x, *y, line);
		p += k;
		while (*p == ' ')
			p++;
		*y -= leading;
	} while (*p);
}

/* The document as a one-page PDF (A4) in a malloc'd buffer; NULL on failure. */
static char *
doc_pdf(const Doc *d, size_t *len)
{
	HPDF_STATUS failed = HPDF_OK;
	HPDF_Doc	pdf = HPDF_New(pdf_error, &failed);
	HPDF_Page	page;
	HPDF_Font	regular,
				bold;
	float		y;
	char		title[512];
	char	   *out = NULL;
	HPDF_UINT32 size;

	if (!pdf)
		return NULL;
	HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
	HPDF_SetInfoAttr(pdf, HPDF_INFO_PRODUCER, "pg_wallet_bridge");
	page = HPDF_AddPage(pdf);
	HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
	regular = HPDF_GetFont(pdf, "Helvetica", "WinAnsiEncoding");
	bold = HPDF_GetFont(pdf, "Helvetica-Bold", "WinAnsiEncoding");
	y = HPDF_Page_GetHeight(page) - 72;
	HPDF_Page_BeginText(page);
	HPDF_Page_SetFontAndSize(page, bold, 18);
	winansi(d->title, title, sizeof(title));
	HPDF_Page_TextOut(page, 56, y, title);
	y -= 36;
	for (int i = 0; i < d->n && y > 56 && failed == HPDF_OK; i++)
	{
		char		label[256];

		winansi(d->label[i], label, sizeof(label));
		HPDF_Page_SetFontAndSize(page, bold, 10);
		HPDF_Page_TextOut(page, 56, y, label);
		HPDF_Page_SetFontAndSize(page, regular, 10);
		pdf_wrapped(page, d->value[i], 170, &y, 370, 14);
		y -= 6;
	}
	HPDF_Page_EndText(page);
	if (failed == HPDF_OK && HPDF_SaveToStream(pdf) == HPDF_OK && failed == HPDF_OK &&
		(size = HPDF_GetStreamSize(pdf)) > 0 && (out = malloc(size)) != NULL)
	{
		HPDF_STATUS read = HPDF_ReadFromStream(pdf, (HPDF_BYTE *) out, &size);

		if ((read != HPDF_OK && read != HPDF_STREAM_EOF) || size == 0)
		{
			free(out);
			out = NULL;
		}
	}
	*len = out ? size : 0;
	HPDF_Free(pdf);
	return out;
}

/*
 * A document route's result rendered: a malloc'd page (*out, *n bytes) and its content type;
 * -1 (logged) when the function's result is not a document (a bug) or the rendering failed.
 * reply.c sends it, or a 500.
 */
int
document_render(RequestSlot *s, const char *json, size_t len, char **out, size_t *n,
				const char **content_type)
{
	static Doc	d;				/* one request at a time: the bridge is single-threaded */
	char		format[8];

	*out = NULL;
	*n = 0;
	if (json_member_string(json, len, "format", format, sizeof(format)) < 0 ||
		json_member_string(json, len, "lines", d.text, sizeof(d.text)) < 0 || doc_parse(&d) < 0)
	{
		log_msg("error", "request %s: %s returned no document", s->request_id,
				s->route->function);
		return -1;
	}
	if (strcmp(format, "pdf") == 0)
	{
		*out = doc_pdf(&d, n);
		*content_type = "application/pdf";
	}
	else if ((*out = malloc(s->reply_cap)) != NULL)
	{
		*n = doc_html(&d, *out, s->reply_cap);
		*content_type = "text/html; charset=utf-8";
	}
	if (!*out || *n == 0)
	{
		free(*out);
		*out = NULL;
		log_msg("error", "request %s: the document could not be rendered", s->request_id);
		return -1;
	}
	return 0;
}
