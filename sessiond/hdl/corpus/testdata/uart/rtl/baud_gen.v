// baud_gen.v - divides the system clock down to a baud-rate tick
// and an oversampled tick for the receiver.
`include "uart_defs.vh"

// Baud-rate generator.
// CLK_HZ is the input clock, BAUD the line rate, WIDTH the divider counter width.
module baud_gen #(
    // Input clock frequency in Hz.
    parameter integer CLK_HZ = 50_000_000,
    // Line rate in bits per second.
    parameter integer BAUD   = 115_200,
    // Width of the divider counter; must hold CLK_HZ / (BAUD * oversample).
    parameter integer WIDTH  = 16
) (
    // System clock.
    input  wire clk,
    // Synchronous active-high reset.
    input  wire rst,
    // One-cycle pulse at BAUD * UART_OVERSAMPLE.
    output reg  tick_os,
    // One-cycle pulse at BAUD.
    output reg  tick
);

    // Clock cycles per oversampled tick.
    localparam integer DIV_OS = CLK_HZ / (BAUD * `UART_OVERSAMPLE);

    // Divider counter for the oversampled tick.
    reg [WIDTH-1:0] cnt;
    // Counts oversampled ticks to derive the baud tick.
    reg [3:0] os_cnt;

    always @(posedge clk) begin
        if (rst) begin
            cnt     <= {WIDTH{1'b0}};
            os_cnt  <= 4'd0;
            tick_os <= 1'b0;
            tick    <= 1'b0;
        end else begin
            tick_os <= 1'b0;
            tick    <= 1'b0;
            if (cnt == DIV_OS[WIDTH-1:0] - 1'b1) begin
                cnt     <= {WIDTH{1'b0}};
                tick_os <= 1'b1;
                os_cnt  <= os_cnt + 4'd1;
                if (os_cnt == 4'd15) begin
                    tick <= 1'b1;
                end
            end else begin
                cnt <= cnt + 1'b1;
            end
        end
    end

endmodule
