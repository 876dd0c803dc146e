// top.v - UART loopback top level for the eval board.
`include "uart_defs.vh"

// Board top: a transmitter and receiver sharing one baud generator.
// The data width is a parameter of the top and flows into both ends.
module top #(
    // Board oscillator frequency in Hz.
    parameter integer CLK_HZ    = 100_000_000,
    // Line rate.
    parameter integer BAUD      = 115_200,
    // Data bits per frame, passed to both ends.
    parameter integer DATA_BITS = 8
) (
    // Board clock.
    input  wire                 clk,
    // Active-high reset button.
    input  wire                 rst,
    // Serial input pin.
    input  wire                 uart_rxd,
    // Serial output pin.
    output wire                 uart_txd,
    // Word to transmit.
    input  wire [DATA_BITS-1:0] tx_data,
    // Pulse to transmit tx_data.
    input  wire                 tx_start,
    // Transmitter busy flag.
    output wire                 tx_busy,
    // Last received word.
    output wire [DATA_BITS-1:0] rx_data,
    // Pulse when rx_data is new.
    output wire                 rx_valid,
    // Framing error on the last received word.
    output wire                 rx_err
);

    // Divider width needed for CLK_HZ / (BAUD * oversample).
    localparam integer DIV_WIDTH = $clog2(CLK_HZ / (BAUD * `UART_OVERSAMPLE)) + 1;

    // Baud tick for the transmitter.
    wire tick;
    // Oversampled tick for the receiver.
    wire tick_os;

    // Shared baud-rate generator, sized from the top's parameters.
    baud_gen #(
        .CLK_HZ(CLK_HZ),
        .BAUD  (BAUD),
        .WIDTH (DIV_WIDTH)
    ) u_baud (
        .clk    (clk),
        .rst    (rst),
        .tick_os(tick_os),
        .tick   (tick)
    );

    // Transmitter; its data port width follows the DATA_BITS override.
    uart_tx #(
        .DATA_BITS(DATA_BITS),
        .PARITY   (0)
    ) u_tx (
        .clk  (clk),
        .rst  (rst),
        .tick (tick),
        .start(tx_start),
        .data (tx_data),
        .txd  (uart_txd),
        .busy (tx_busy)
    );

    // Receiver with a three-stage synchroniser for the external pin.
    uart_rx #(
        .DATA_BITS  (DATA_BITS),
        .SYNC_STAGES(3)
    ) u_rx (
        .clk      (clk),
        .rst      (rst),
        .tick_os  (tick_os),
        .rxd      (uart_rxd),
        .data     (rx_data),
        .valid    (rx_valid),
        .frame_err(rx_err)
    );

`ifdef SIMULATION
    // Print every received word in simulation.
    always @(posedge clk) begin
        if (rx_valid)
            $display("uart rx: %h%s", rx_data, rx_err ? " (framing error)" : "");
    end
`else
    // Keep the synthesis netlist free of simulation-only logic.
`endif

endmodule
