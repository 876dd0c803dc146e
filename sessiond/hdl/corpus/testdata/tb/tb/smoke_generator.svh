// smoke_generator.svh - included by tb_pkg.sv; one class per file.

// Generator for a smoke test: additions of small numbers only.
class smoke_generator extends generator;
    // Connects to the same mailbox as the base generator.
    function new(mailbox #(alu_txn) mbx, int n);
        super.new(mbx, n);
    endfunction

    // Random transaction turned into an addition of operands below 256.
    virtual function alu_txn make(int i);
        alu_txn t = super.make(i);
        t.op = 2'd0;
        t.a  = t.a & 16'h00ff;
        t.b  = t.b & 16'h00ff;
        return t;
    endfunction
endclass : smoke_generator
