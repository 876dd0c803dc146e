// uart_rx.v - oversampling receiver with a two-flop input synchroniser.
`include "uart_defs.vh"

// UART receiver: samples rxd at `UART_OVERSAMPLE times the baud rate and
// takes each bit in the middle of its cell.
module uart_rx #(
    // Number of data bits per frame.
    parameter integer DATA_BITS = 8,
    // Flip-flops in the input synchroniser chain.
    parameter integer SYNC_STAGES = 2
) (
    // System clock.
    input  wire                 clk,
    // Synchronous active-high reset.
    input  wire                 rst,
    // Oversampled tick from baud_gen.
    input  wire                 tick_os,
    // Asynchronous serial input.
    input  wire                 rxd,
    // Received data word, valid while valid is high.
    output reg  [DATA_BITS-1:0] data,
    // One-cycle pulse when a frame has been received.
    output reg                  valid,
    // Stop bit was not `UART_IDLE.
    output reg                  frame_err
);

    // Receiver states.
    localparam [1:0] S_IDLE  = 2'd0,
                     S_START = 2'd1,
                     S_DATA  = 2'd2,
                     S_STOP  = 2'd3;

    // Last oversampled tick of a bit cell.
    localparam integer OS_LAST  = `UART_OVERSAMPLE - 1;
    // Oversampled tick in the middle of a bit cell.
    localparam integer OS_HALF  = (`UART_OVERSAMPLE / 2) - 1;
    // Index of the last data bit.
    localparam integer BIT_LAST = DATA_BITS - 1;

    // Synchroniser chain; sync[SYNC_STAGES-1] is the safe copy of rxd.
    reg [SYNC_STAGES-1:0] sync;
    // Current receiver state.
    reg [1:0]             state;
    // Position inside the current bit cell, in oversampled ticks.
    reg [3:0]             os_cnt;
    // Index of the data bit being received.
    reg [3:0]             bit_idx;

    // Synchronised serial input.
    wire rxd_s = sync[SYNC_STAGES-1];

    // One flip-flop per synchroniser stage, each in its own labelled block.
    genvar i;
    generate
        for (i = 0; i < SYNC_STAGES; i = i + 1) begin : g_sync
            if (i == 0) begin : g_first
                always @(posedge clk) sync[0] <= rst ? `UART_IDLE : rxd;
            end else begin : g_next
                always @(posedge clk) sync[i] <= rst ? `UART_IDLE : sync[i-1];
            end
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            state     <= S_IDLE;
            os_cnt    <= 4'd0;
            bit_idx   <= 4'd0;
            data      <= {DATA_BITS{1'b0}};
            valid     <= 1'b0;
            frame_err <= 1'b0;
        end else begin
            valid <= 1'b0;
            if (tick_os) begin
                case (state)
                    S_IDLE: begin
                        if (rxd_s == `UART_START) begin
                            state  <= S_START;
                            os_cnt <= 4'd0;
                        end
                    end
                    S_START: begin
                        // Re-check the start bit in the middle of its cell.
                        if (os_cnt == OS_HALF[3:0]) begin
                            os_cnt  <= 4'd0;
                            bit_idx <= 4'd0;
                            state   <= (rxd_s == `UART_START) ? S_DATA : S_IDLE;
                        end else begin
                            os_cnt <= os_cnt + 4'd1;
                        end
                    end
                    S_DATA: begin
                        if (os_cnt == OS_LAST[3:0]) begin
                            os_cnt <= 4'd0;
                            data   <= {rxd_s, data[DATA_BITS-1:1]};
                            if (bit_idx == BIT_LAST[3:0])
                                state <= S_STOP;
                            else
                                bit_idx <= bit_idx + 4'd1;
                        end else begin
                            os_cnt <= os_cnt + 4'd1;
                        end
                    end
                    default: begin
                        if (os_cnt == OS_LAST[3:0]) begin
                            os_cnt    <= 4'd0;
                            valid     <= 1'b1;
                            frame_err <= (rxd_s != `UART_IDLE);
                            state     <= S_IDLE;
                        end else begin
                            os_cnt <= os_cnt + 4'd1;
                        end
                    end
                endcase
            end
        end
    end

endmodule
