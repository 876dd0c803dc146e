// uart_defs.vh - shared constants for the UART core.
// Included by every RTL file; guarded so multiple includes are harmless.
`ifndef UART_DEFS_VH
`define UART_DEFS_VH

// Number of stop bits the transmitter sends.
`define UART_STOP_BITS 1
// Line level while idle (mark).
`define UART_IDLE 1'b1
// Line level of the start bit (space).
`define UART_START 1'b0
// Oversampling factor of the receiver relative to the baud rate.
`define UART_OVERSAMPLE 16

`endif
