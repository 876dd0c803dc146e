module undeclared (
    input  wire a,
    output wire y
);
    assign y = a & not_declared_sig;
endmodule
