/*
 * json.c — a bounded, non-allocating JSON checker and a string escaper.
 *
 * Owns: deciding whether a request body is one well-formed JSON object (RFC 8259) within
 * the nesting-depth and field-count limits, and escaping bytes into a JSON string. Must
 * never interpret values (amounts stay text for SQL to parse) and never allocate.
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"

typedef struct Scan
{
	const char *p, *end;
	int			depth, depth_max;
	int			fields, fields_max;
	const char *error;
} Scan;

static int	scan_value(Scan *s);

static void
skip_ws(Scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
fail(Scan *s, const char *why)
{
	if (!s->error)
		s->error = why;
	return -1;
}

static int
hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
scan_string(Scan *s)
{
	s->p++;						/* opening quote */
	while (s->p < s->end)
	{
		unsigned char c = (unsigned char) *s->p++;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return fail(s, "control character in a string");
		if (c == '\\')
		{
			if (s->p >= s->end)
				break;
			c = (unsigned char) *s->p++;
			if (c == 'u')
			{
				if (s->end - s->p < 4 || !hex(s->p[0]) || !hex(s->p[1]) ||
					!hex(s->p[2]) || !hex(s->p[3]))
					return fail(s, "bad \\u escape");
				s->p += 4;
			}
			else if (!strchr("\"\\/bfnrt", c))
				return fail(s, "bad escape");
		}
	}
	return fail(s, "unterminated string");
}

static int
scan_number(Scan *s)
{
	const char *start = s->p;

	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0')
		s->p++;
	else if (s->p < s->end && *s->p >= '1' && *s->p <= '9')
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	else
		return fail(s, "bad number");
	if (s->p < s->end && *s->p == '.')
	{
		s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return fail(s, "bad number");
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
	{
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return fail(s, "bad number");
		while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			s->p++;
	}
	return s->p - start > 64 ? fail(s, "number too long") : 0;
}

static int
scan_literal(Scan *s, const char *word)
{
	size_t		n = strlen(word);

	if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return fail(s, "unexpected character");
	s->p += n;
	return 0;
}

/* An object or an array: members/elements separated by commas. */
static int
scan_container(Scan *s, char close, int is_object)
{
	if (++s->depth > s->depth_max)
		return fail(s, "JSON nested too deeply");
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close)
	{
		s->p++;
		s->depth--;
		return 0;
	}
	for (;;)
	{
		if (++s->fields > s->fields_max)
			return fail(s, "too many JSON fields");
		skip_ws(s);
		if (is_object)
		{
			if (s->p >= s->end || *s->p != '"' || scan_string(s))
				return fail(s, "expected a member name");
			skip_ws(s);
			if (s->p >= s->end || *s->p++ != ':')
				return fail(s, "expected ':'");
		}
		if (scan_value(s))
			return -1;
		skip_ws(s);
		if (s->p < s->end && *s->p == ',')
		{
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == close)
		{
			s->p++;
			s->depth--;
			return 0;
		}
		return fail(s, "expected ',' or a closing bracket");
	}
}

static int
scan_value(Scan *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		return fail(s, "unexpected end of JSON");
	switch (*s->p)
	{
		case '{':
			return scan_container(s, '}', 1);
		case '[':
			return scan_container(s, ']', 0);
		case '"':
			return scan_string(s);
		case 't':
			return scan_literal(s, "true");
		case 'f':
			return scan_literal(s, "false");
		case 'n':
			return scan_literal(s, "null");
		default:
			return scan_number(s);
	}
}

/*
 * 0 when s[0..len) is one JSON object within the limits; otherwise -1 and *error says why.
 * NUL bytes are refused (the text goes to PostgreSQL, which refuses them too).
 */
int
json_check(const char *text, size_t len, int depth_max, int fields_max, const char **error)
{
	Scan		s = {text, text + len, 0, depth_max, 0, fields_max, NULL};

	*error = NULL;
	if (memchr(text, '\0', len))
	{
		*error = "NUL byte in the body";
		return -1;
	}
	skip_ws(&s);
	if (s.p >= s.end || *s.p != '{')
	{
		*error = "the body must be a JSON object";
		return -1;
	}
	if (scan_value(&s) == 0)
	{
		skip_ws(&s);
		if (s.p == s.end)
			return 0;
		fail(&s, "trailing characters after the JSON value");
	}
	*error = s.error;
	return -1;
}

/* Escape src[0..len) into dst as JSON string content; returns bytes written or (size_t)-1. */
size_t
json_escape(char *dst, size_t cap, const char *src, size_t len)
{
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) src[i];
		char		tmp[8];
		const char *out = tmp;
		size_t		k;

		if (c == '"' || c == '\\')
		{
			tmp[0] = '\\';
			tmp[1] = (char) c;
			tmp[2] = '\0';
		}
		else if (c < 0x20)
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		else
		{
			tmp[0] = (char) c;
			tmp[1] = '\0';
		}
		k = strlen(out);
		if (n + k >= cap)
			return (size_t) -1;
		memcpy(dst + n, out, k);
		n += k;
	}
	dst[n] = '\0';
	return n;
}
