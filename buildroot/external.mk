################################################################################
#
# CoPi external tree: every package under package/
#
################################################################################

include $(sort $(wildcard $(BR2_EXTERNAL_COPI_PATH)/package/*/*.mk))
