/* A small JSON reader for flat configuration objects (see config_file.h). */
#include "host/config_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cursor {
    const char *s;
    size_t len, pos;
    const char *what;
} cursor;

static void skip_ws(cursor *c) {
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' || c->s[c->pos] == '\r'))
        c->pos++;
}

static ct_status bad(const cursor *c, const char *problem) {
    return CT_FAIL(CT_ERR_FORMAT, "%s: %s at byte %zu (expected one JSON object of option: value pairs)", c->what, problem,
                   c->pos);
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* a JSON string at the cursor into a new buffer; \u escapes of ASCII characters
 * only (option values are ASCII); other bytes pass through as they are */
static ct_status read_string(cursor *c, char **out) {
    *out = NULL;
    if (c->pos >= c->len || c->s[c->pos] != '"') return bad(c, "a string must start with '\"'");
    c->pos++;
    char *buf = malloc(c->len - c->pos + 1);
    if (!buf) return CT_FAIL(CT_ERR_NOMEM, "%s: out of memory", c->what);
    size_t n = 0;
    while (c->pos < c->len && c->s[c->pos] != '"') {
        unsigned char ch = (unsigned char)c->s[c->pos++];
        if (ch < 0x20) { free(buf); return bad(c, "control character inside a string"); }
        if (ch != '\\') { buf[n++] = (char)ch; continue; }
        if (c->pos >= c->len) break;
        char e = c->s[c->pos++];
        switch (e) {
        case '"': case '\\': case '/': buf[n++] = e; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            int v = 0;
            for (int k = 0; k < 4; k++) {
                int h = c->pos < c->len ? hexval(c->s[c->pos]) : -1;
                if (h < 0) { free(buf); return bad(c, "bad \\u escape"); }
                v = v * 16 + h;
                c->pos++;
            }
            if (v == 0 || v > 0x7f) { free(buf); return bad(c, "\\u escape of a non-ASCII or NUL character"); }
            buf[n++] = (char)v;
            break;
        }
        default: free(buf); return bad(c, "unknown escape in a string");
        }
    }
    if (c->pos >= c->len) { free(buf); return bad(c, "unterminated string"); }
    c->pos++; /* the closing quote */
    buf[n] = '\0';
    *out = buf;
    return CT_OK;
}

/* a JSON number's text (grammar checked; the flag's own parser converts it) */
static ct_status read_number(cursor *c, char **out) {
    const size_t start = c->pos;
    const char *s = c->s;
#define DIGITS() do { size_t d0 = c->pos; while (c->pos < c->len && s[c->pos] >= '0' && s[c->pos] <= '9') c->pos++; \
                      if (c->pos == d0) return bad(c, "malformed number"); } while (0)
    if (c->pos < c->len && s[c->pos] == '-') c->pos++;
    DIGITS();
    if (c->pos < c->len && s[c->pos] == '.') { c->pos++; DIGITS(); }
    if (c->pos < c->len && (s[c->pos] == 'e' || s[c->pos] == 'E')) {
        c->pos++;
        if (c->pos < c->len && (s[c->pos] == '+' || s[c->pos] == '-')) c->pos++;
        DIGITS();
    }
#undef DIGITS
    *out = malloc(c->pos - start + 1);
    if (!*out) return CT_FAIL(CT_ERR_NOMEM, "%s: out of memory", c->what);
    memcpy(*out, s + start, c->pos - start);
    (*out)[c->pos - start] = '\0';
    return CT_OK;
}

static int literal(cursor *c, const char *word) {
    size_t n = strlen(word);
    if (c->len - c->pos >= n && !memcmp(c->s + c->pos, word, n)) {
        c->pos += n;
        return 1;
    }
    return 0;
}

static ct_status add_entry(ct_config_file *f, char *key, char *value, ct_config_kind kind, const cursor *c) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->entries[i].key, key)) {
            ct_status st = CT_FAIL(CT_ERR_FORMAT, "%s: key '%s' given twice", c->what, key);
            free(key);
            free(value);
            return st;
        }
    ct_config_entry *ne = realloc(f->entries, (size_t)(f->n + 1) * sizeof *ne);
    if (!ne) {
        free(key);
        free(value);
        return CT_FAIL(CT_ERR_NOMEM, "%s: out of memory", c->what);
    }
    f->entries = ne;
    f->entries[f->n++] = (ct_config_entry){key, value, kind};
    return CT_OK;
}

/* a record of a log that is not its configuration (an older log, or another line) */
static int other_record(const ct_config_file *f, const char **type) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->entries[i].key, "type")) {
            *type = f->entries[i].kind == CT_CONFIG_STRING ? f->entries[i].value : "?";
            return strcmp(*type, "config") != 0;
        }
    return 0;
}

static ct_status not_config(const cursor *c, const char *type) {
    return CT_FAIL(CT_ERR_FORMAT, "%s: its first record is of type '%s', not a run's configuration "
                   "(a log written before configuration records existed?)", c->what, type);
}

static ct_status parse_object(cursor *c, ct_config_file *f) {
    skip_ws(c);
    if (c->pos >= c->len || c->s[c->pos] != '{') return bad(c, "no '{'");
    c->pos++;
    skip_ws(c);
    if (c->pos < c->len && c->s[c->pos] == '}') { c->pos++; return CT_OK; }
    for (;;) {
        skip_ws(c);
        char *key = NULL, *value = NULL;
        CT_TRY(read_string(c, &key));
        skip_ws(c);
        if (c->pos >= c->len || c->s[c->pos] != ':') { free(key); return bad(c, "no ':' after a key"); }
        c->pos++;
        skip_ws(c);
        ct_config_kind kind = CT_CONFIG_NULL;
        const char *type = NULL;
        ct_status st = CT_OK;
        const char ch = c->pos < c->len ? c->s[c->pos] : '\0';
        if (ch == '"') { kind = CT_CONFIG_STRING; st = read_string(c, &value); }
        else if (ch == '-' || (ch >= '0' && ch <= '9')) { kind = CT_CONFIG_NUMBER; st = read_number(c, &value); }
        else if (literal(c, "true")) kind = CT_CONFIG_TRUE;
        else if (literal(c, "false")) kind = CT_CONFIG_FALSE;
        else if (literal(c, "null")) kind = CT_CONFIG_NULL;
        else if ((ch == '{' || ch == '[') && other_record(f, &type)) st = not_config(c, type);
        else if (ch == '{' || ch == '[') st = CT_FAIL(CT_ERR_FORMAT, "%s: key '%s': nested objects and arrays are not options", c->what, key);
        else st = bad(c, "no value after a key");
        if (st != CT_OK) { free(key); return st; }
        CT_TRY(add_entry(f, key, value, kind, c));
        skip_ws(c);
        if (c->pos < c->len && c->s[c->pos] == ',') { c->pos++; continue; }
        if (c->pos < c->len && c->s[c->pos] == '}') { c->pos++; return CT_OK; }
        return bad(c, "no ',' or '}' after a value");
    }
}

const ct_config_entry *ct_config_file_get(const ct_config_file *f, const char *key) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->entries[i].key, key)) return &f->entries[i];
    return NULL;
}

ct_status ct_config_file_parse(const char *text, size_t len, const char *what, ct_config_file *out) {
    memset(out, 0, sizeof *out);
    cursor c = {text, len, 0, what};
    ct_status st = parse_object(&c, out);
    if (st == CT_OK) {
        const char *type = NULL;
        const int record = ct_config_file_get(out, "type") != NULL;
        if (other_record(out, &type)) st = not_config(&c, type);
        skip_ws(&c);
        if (st == CT_OK && !record && c.pos < c.len) st = bad(&c, "text after the object");
    }
    if (st != CT_OK) ct_config_file_free(out);
    return st;
}

ct_status ct_config_file_load(const char *path, ct_config_file *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return CT_FAIL(CT_ERR_IO, "--config %s: cannot open", path);
    enum { CAP = 4 << 20 };
    char *buf = malloc(CAP);
    if (!buf) {
        fclose(f);
        return CT_FAIL(CT_ERR_NOMEM, "--config %s: out of memory", path);
    }
    const size_t n = fread(buf, 1, CAP, f);
    const int err = ferror(f);
    fclose(f);
    char what[1100];
    snprintf(what, sizeof what, "--config %.1000s", path);
    ct_status st = err ? CT_FAIL(CT_ERR_IO, "%s: read failed", what) : ct_config_file_parse(buf, n, what, out);
    free(buf);
    return st;
}

void ct_config_file_free(ct_config_file *f) {
    for (int i = 0; i < f->n; i++) {
        free(f->entries[i].key);
        free(f->entries[i].value);
    }
    free(f->entries);
    memset(f, 0, sizeof *f);
}
