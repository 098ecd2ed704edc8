/* STUB: replaced by the module owner. */
#include "stages/stage.h"
static const PortDef no_ports[] = {{0}};
static const ParamDef no_params[] = {{0}};
static int run_stub(StageCtx *ctx, PureErr *err) { (void)ctx; return err_set(err, "stage kind 'credit' is not implemented yet"); }
const StageKind stage_kind_credit = {"credit", 0, "not implemented yet", no_ports, no_ports, no_params, run_stub, 0};
