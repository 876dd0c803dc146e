// uart_tx.v - 8N1-style transmitter, data width set by parameter.
`include "uart_defs.vh"

// UART transmitter: shifts out start bit, DATA_BITS data bits LSB first,
// an optional parity bit and `UART_STOP_BITS stop bits.
module uart_tx #(
    // Number of data bits per frame.
    parameter integer DATA_BITS = 8,
    // Send an even-parity bit after the data when 1.
    parameter integer PARITY    = 0
) (
    // System clock.
    input  wire                 clk,
    // Synchronous active-high reset.
    input  wire                 rst,
    // Baud-rate tick from baud_gen.
    input  wire                 tick,
    // Start a frame with data when high and the transmitter is idle.
    input  wire                 start,
    // Data to send.
    input  wire [DATA_BITS-1:0] data,
    // Serial output line.
    output reg                  txd,
    // High while a frame is being sent.
    output wire                 busy
);

    // Total bits in a frame: start + data + parity + stop.
    localparam integer FRAME = 1 + DATA_BITS + PARITY + `UART_STOP_BITS;

    // Frame being shifted out, LSB first.
    reg [FRAME-1:0] shreg;
    // Bits still to send in the current frame.
    reg [4:0]       remaining;

    // Even parity of a data word.
    function parity_of;
        input [DATA_BITS-1:0] d;
        begin
            parity_of = ^d;
        end
    endfunction

    // Complete frame for the current data word, LSB (start bit) first.
    wire [FRAME-1:0] frame;

    generate
        if (PARITY != 0) begin : g_parity
            assign frame = {{`UART_STOP_BITS{`UART_IDLE}}, parity_of(data), data, `UART_START};
        end else begin : g_no_parity
            assign frame = {{`UART_STOP_BITS{`UART_IDLE}}, data, `UART_START};
        end
    endgenerate

    assign busy = (remaining != 5'd0);

    always @(posedge clk) begin
        if (rst) begin
            txd       <= `UART_IDLE;
            shreg     <= {FRAME{1'b1}};
            remaining <= 5'd0;
        end else if (!busy && start) begin
            shreg     <= frame;
            remaining <= FRAME[4:0];
        end else if (busy && tick) begin
            txd       <= shreg[0];
            shreg     <= {`UART_IDLE, shreg[FRAME-1:1]};
            remaining <= remaining - 5'd1;
        end
    end

endmodule
