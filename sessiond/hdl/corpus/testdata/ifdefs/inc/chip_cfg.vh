// chip_cfg.vh - build configuration of the chip; defines may come from the
// command line (-DDEPTH=16 -DUSE_FIFO=1) or fall back to the defaults here.
`ifndef CHIP_CFG_VH
`define CHIP_CFG_VH

// Buffer depth when none is given on the command line.
`ifndef DEPTH
`define DEPTH 8
`endif

// Data path width of the chip.
`define DATA_W 8

// Which buffer sits between input and output, as text for the banner.
`ifdef USE_FIFO
`define BUF_KIND "fifo"
`elsif USE_SKID
`define BUF_KIND "skid"
`else
`define BUF_KIND "register"
`endif

`endif
