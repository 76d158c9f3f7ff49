################################################################################
#
# copi
#
################################################################################

# The CoPi workspace is the directory above this external tree: the package is
# built from the checkout Buildroot is pointed at, not from a download.
COPI_SITE = $(realpath $(BR2_EXTERNAL_COPI_PATH)/..)
COPI_SITE_METHOD = local
COPI_VERSION = $(shell sed -n 's/^version = "\([^"]*\)"/\1/p' $(COPI_SITE)/Cargo.toml | head -n 1)
COPI_LICENSE = AGPL-3.0-or-later

# What Buildroot's local rsync must not copy: build outputs (gigabytes), a Buildroot
# output dir kept inside the checkout, a demo data dir.
COPI_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude /target \
	--exclude /buildroot/output \
	--exclude /copi-data

ifeq ($(BR2_PACKAGE_COPI_PREBUILT),y)

COPI_PREBUILT_PATH = $(call qstrip,$(BR2_PACKAGE_COPI_PREBUILT_PATH))
ifeq ($(COPI_PREBUILT_PATH),)
COPI_PREBUILT_PATH = $(COPI_SITE)/target/aarch64-unknown-linux-gnu/release/copi
endif

define COPI_INSTALL_TARGET_CMDS
	test -x $(COPI_PREBUILT_PATH) || { \
		echo "copi: no prebuilt binary at $(COPI_PREBUILT_PATH)" \
			"(run scripts/cross-build --release, or set BR2_PACKAGE_COPI_PREBUILT_PATH)"; \
		exit 1; }
	$(INSTALL) -D -m 0755 $(COPI_PREBUILT_PATH) $(TARGET_DIR)/usr/bin/copi
endef

$(eval $(generic-package))

else # !BR2_PACKAGE_COPI_PREBUILT

# The workspace's own release profile (LTO, one codegen unit, opt-level), read from
# Cargo.toml: Buildroot's cargo infrastructure sets CARGO_PROFILE_RELEASE_* from
# BR2_OPTIMIZE_* and BR2_ENABLE_LTO, which would undo the size and memory tuning.
# $(1): a key of [profile.release].
copi-release-setting = $(shell sed -n '/^\[profile\.release\]/,/^\[/{s/^$(1) *= *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p}' $(COPI_SITE)/Cargo.toml)
COPI_CARGO_ENV = \
	$(foreach key,lto codegen-units opt-level,\
		$(if $(call copi-release-setting,$(key)),\
			CARGO_PROFILE_RELEASE_$(call UPPERCASE,$(subst -,_,$(key)))="$(call copi-release-setting,$(key))"))

# One package of the workspace (Cargo.toml at the site's root is a virtual manifest),
# with the crates vendored into $(@D)/VENDOR (see COPI_VENDOR_CRATES).
COPI_CARGO_BUILD_OPTS = \
	-p copi --bin copi \
	--config 'source.crates-io.replace-with="copi-vendored"' \
	--config 'source.copi-vendored.directory="$(@D)/VENDOR"'

# A local site is rsynced, never downloaded, so the download step's cargo vendoring does
# not run for it: vendor the locked crates here, into Buildroot's cargo home under
# DL_DIR (a later build works offline from that cache). Needs the network the first time,
# like any download.
define COPI_VENDOR_CRATES
	cd $(@D) && $(TARGET_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
		cargo vendor --locked --versioned-dirs $(@D)/VENDOR >/dev/null
endef
COPI_PRE_BUILD_HOOKS += COPI_VENDOR_CRATES

# `cargo install --path ./` (the infrastructure's default) cannot install from a
# virtual manifest: install the binary that was built.
define COPI_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 \
		$(@D)/target/$(RUSTC_TARGET_NAME)/$(if $(BR2_ENABLE_DEBUG),debug,release)/copi \
		$(TARGET_DIR)/usr/bin/copi
endef

$(eval $(cargo-package))

endif # BR2_PACKAGE_COPI_PREBUILT
