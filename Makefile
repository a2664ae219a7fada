# pg_wallet — PGXS build of the extension (and, later, the bridge daemon).
#
#   make              build pg_wallet.so and the install script
#   make install      install into the PostgreSQL found by pg_config
#   make installcheck regress + isolation suites on a temporary instance
#                     (must run as an unprivileged OS user: see scripts/test)

# pg_wallet_router (docs/scale-out.md) is the router database's extension: PL/Proxy and dblink
# over data nodes that each have pg_wallet. It has no C of its own.
EXTENSION   = pg_wallet pg_wallet_router
WALLET      = pg_wallet
EXTVERSION  = 0.2.0
ROUTER_VERSION = 0.1.0
# the released version that the built upgrade script starts from (docs/operations.md,
# "Upgrades": what to change when a version is released)
UPGRADE_FROM = 0.1.0

MODULE_big  = pg_wallet
OBJS        = $(patsubst %.c,%.o,$(wildcard src/*.c src/*/*.c))

# The install script is assembled from one file per concern, in the order that
# sql/install.list gives (the one place it is written). The upgrade script from
# $(UPGRADE_FROM) is sql/upgrades/$(UPGRADE_FROM)--$(EXTVERSION).sql (the hand-written schema
# changes) followed by the files listed after the line "#@replay-on-upgrade" of
# sql/install.list (the functions, all CREATE OR REPLACE, then the grants).
SQL_FILES   = grep -v -e '^\#' -e '^[[:space:]]*$$'
SQL_PARTS   = $(addprefix sql/,$(shell $(SQL_FILES) sql/install.list))
SQL_REPLAY  = $(addprefix sql/,$(shell sed -n '/^\#@replay-on-upgrade$$/,$$p' sql/install.list | \
                                       $(SQL_FILES)))
UPGRADE_SQL = sql/upgrades/$(UPGRADE_FROM)--$(EXTVERSION).sql
DATA_built  = sql/$(WALLET)--$(EXTVERSION).sql \
              sql/$(WALLET)--$(UPGRADE_FROM)--$(EXTVERSION).sql \
              sql/pg_wallet_router--$(ROUTER_VERSION).sql
# released scripts, committed and never edited: install scripts of earlier versions, and
# upgrade scripts between earlier versions
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(WALLET)--*.sql))

BUILD_DIR  ?= build

REGRESS      = $(sort $(notdir $(basename $(wildcard test/sql/*.sql))))
REGRESS_OPTS = --inputdir=test --outputdir=$(BUILD_DIR)/regress --load-extension=pg_wallet \
               --temp-instance=$(BUILD_DIR)/regress/tmp_check \
               --temp-config=test/pg_wallet_test.conf
ISOLATION      = $(sort $(notdir $(basename $(wildcard test/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test --outputdir=$(BUILD_DIR)/isolation --load-extension=pg_wallet \
                 --temp-instance=$(BUILD_DIR)/isolation/tmp_check \
                 --temp-config=test/pg_wallet_test.conf

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src

# ASSERTS=1: an assert-enabled build (-DUSE_ASSERT_CHECKING), the one scripts/test runs;
# scripts/start and the benchmarks build without. src/.flavour remembers the last build's
# flavour, so switching it rebuilds every object.
ifeq ($(ASSERTS),1)
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif
SHLIB_LINK  = -lcrypto -lcurl
override CFLAGS += -Wall -Wextra -Werror -Wno-unused-parameter \
                   -Wno-missing-field-initializers -Wno-sign-compare

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# TAP tests (test/t/*.pl, PostgreSQL::Test::Cluster): crashes and restarts with the workers,
# the update from 0.1.0, dump/restore and point-in-time recovery, idle workers.
# Not TAP_TESTS: PGXS would run them inside both installcheck stages of scripts/test.
# Two files at a time (each has its own clusters and ports): 130 s instead of 180 s here.
PROVE ?= prove
PROVE_FLAGS ?= -j2
tapcheck:
	rm -rf '$(CURDIR)/$(BUILD_DIR)/tap' && mkdir -p '$(CURDIR)/$(BUILD_DIR)/tap'
	TESTDIR='$(CURDIR)/$(BUILD_DIR)/tap' PATH="$(bindir):$$PATH" \
	PG_REGRESS='$(pgxsdir)/src/test/regress/pg_regress' \
	$(PROVE) $(PROVE_FLAGS) -I '$(pgxsdir)/src/test/perl' -I test $(or $(PROVE_TESTS),test/t/*.pl)
.PHONY: tapcheck

sql/$(WALLET)--$(EXTVERSION).sql: sql/install.list $(SQL_PARTS)
	cat $(SQL_PARTS) > $@

# The router's install script: its schemas and tables, the API's composite types (the one
# definition, sql/core/types.sql), then its functions.
ROUTER_PARTS   = sql/router/header.sql sql/core/types.sql sql/router/tables.sql \
                 sql/router/cluster.sql sql/router/calls.sql sql/router/api.sql \
                 sql/router/cross.sql sql/router/config.sql sql/router/recover.sql \
                 sql/router/api_gen.sql \
                 sql/router/grants.sql
sql/pg_wallet_router--$(ROUTER_VERSION).sql: $(ROUTER_PARTS)
	cat $(ROUTER_PARTS) > $@

# A replayed file may hold only statements that can run twice: CREATE OR REPLACE FUNCTION or
# TRIGGER, COMMENT, GRANT, REVOKE, and a constraint trigger (which has no OR REPLACE) as
# DROP TRIGGER IF EXISTS then CREATE CONSTRAINT TRIGGER. Anything else at the start of a line (CREATE TABLE, INSERT, ...)
# belongs in a tables file, or in $(UPGRADE_SQL) for an upgrade.
sql/$(WALLET)--$(UPGRADE_FROM)--$(EXTVERSION).sql: sql/install.list $(UPGRADE_SQL) $(SQL_REPLAY)
	@test -n '$(SQL_REPLAY)' || { echo 'sql/install.list: no "#@replay-on-upgrade" line' >&2; exit 1; }
	@! grep -nE '^(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|TRUNCATE|DO)\b' $(SQL_REPLAY) | \
	   grep -vE ':(CREATE OR REPLACE (FUNCTION|TRIGGER)|ALTER FUNCTION|DROP TRIGGER IF EXISTS|CREATE CONSTRAINT TRIGGER)\b' | \
	   sed 's/^/replayed on upgrade, not repeatable: /' | grep . >&2
	{ printf '%s\n' \
	    '-- pg_wallet upgrade script $(UPGRADE_FROM) -> $(EXTVERSION), built by the Makefile:' \
	    '-- $(UPGRADE_SQL), then the files of sql/install.list after "#@replay-on-upgrade".' \
	    '' '\echo Use "ALTER EXTENSION $(WALLET) UPDATE" to load this file. \quit'; \
	  cat $(UPGRADE_SQL) $(SQL_REPLAY); } > $@

EXTRA_CLEAN = $(BUILD_DIR) src/.flavour

# Every object depends on the shared headers (PGXS tracks no header dependencies) and on
# the build's flavour.
$(OBJS): $(wildcard src/*.h src/*/*.h) src/.flavour src/wallet_errors.h
$(patsubst %.o,%.bc,$(OBJS)): src/wallet_errors.h
src/.flavour: FORCE
	@echo 'ASSERTS=$(ASSERTS)' | cmp -s - $@ || echo 'ASSERTS=$(ASSERTS)' > $@
FORCE:
.PHONY: FORCE

# The wallet's SQLSTATEs are written once, in src/errors.tsv: scripts/errors.sh makes the
# extension's ERRCODE_WALLET_* header and the bridge's status maps from it at build time, and
# docs/errors.md (committed; scripts/test checks it is up to date) with `make docs`.
ERRORS_LIST = src/errors.tsv
ERRORS_GEN  = $(SHELL) scripts/errors.sh
src/wallet_errors.h: $(ERRORS_LIST) scripts/errors.sh
	$(ERRORS_GEN) c-header $(ERRORS_LIST) > $@.tmp && mv $@.tmp $@
bridge/wallet_errors.h: $(ERRORS_LIST) scripts/errors.sh
	$(ERRORS_GEN) bridge-header $(ERRORS_LIST) > $@.tmp && mv $@.tmp $@
docs: docs/errors.md
docs/errors.md: $(ERRORS_LIST) scripts/errors.sh
	$(ERRORS_GEN) docs $(ERRORS_LIST) > $@.tmp && mv $@.tmp $@
# (not EXTRA_CLEAN: PGXS tests it with ifdef before this Makefile sets it)
clean: clean-errors
clean-errors:
	rm -f src/wallet_errors.h bridge/wallet_errors.h
.PHONY: docs clean-errors

# pg_wallet_bridge: the REST/WebSocket daemon (bridge/, see docs/bridge.md). Built by `make`
# beside the extension; `make install` puts it in the PostgreSQL bindir.
BRIDGE_SRCS   = $(wildcard bridge/*.c)
BRIDGE_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror \
                $(shell pkg-config --cflags libwebsockets libpq)
BRIDGE_LIBS   = $(shell pkg-config --libs libwebsockets libpq) -lhpdf

all: bridge/pg_wallet_bridge

bridge/pg_wallet_bridge: $(BRIDGE_SRCS) $(wildcard bridge/*.h) bridge/wallet_errors.h
	$(CC) $(BRIDGE_CFLAGS) -o $@ $(BRIDGE_SRCS) $(BRIDGE_LIBS)

install: install-bridge
install-bridge: bridge/pg_wallet_bridge
	$(INSTALL_PROGRAM) bridge/pg_wallet_bridge '$(DESTDIR)$(bindir)/pg_wallet_bridge'

# The bridge under AddressSanitizer and UndefinedBehaviorSanitizer: `make SANITIZE=1` builds
# bridge/pg_wallet_bridge so; bridge/pg_wallet_bridge-asan is always so (scripts/test's asan
# stage runs the e2e suite with it). Not for production: slower, and it aborts on a report.
BRIDGE_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all \
                  -fno-omit-frame-pointer
ifeq ($(SANITIZE),1)
BRIDGE_CFLAGS += $(BRIDGE_SANITIZE)
endif

bridge/pg_wallet_bridge-asan: $(BRIDGE_SRCS) $(wildcard bridge/*.h) bridge/wallet_errors.h
	$(CC) $(BRIDGE_CFLAGS) $(BRIDGE_SANITIZE) -o $@ $(BRIDGE_SRCS) $(BRIDGE_LIBS)

EXTRA_CLEAN += bridge/pg_wallet_bridge bridge/pg_wallet_bridge-asan
.PHONY: install-bridge
