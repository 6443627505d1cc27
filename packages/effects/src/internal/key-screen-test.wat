;; chroma-key's screen test, one row at a time (see key-screen-test.ts for the memory layout and
;; key-matte.ts for the pass it belongs to). For every pixel with alpha > 0 of the row's source
;; colours: t = (core - halfBal * |diff|) * inv, where core = k0 r + k1 g + k2 b, diff = q0 r + q1
;; g + q2 b and inv is the local screen's term, accumulated one pixel at a time from each grid
;; cell's start (inv += slope). A pixel with t >= oneMinusSim is screen (listed in runs, for the
;; caller to zero), one with t <= tPlain is plain (bounds, and its despill amount listed when it
;; has spill or listAll), the rest are kept (listed with t).
;;
;; Exactly the doubles of the JavaScript it replaces, in the same order, for every pixel it
;; classifies one at a time ($pixel). Most of a frame is screen, so four pixels are first tested
;; at once in single precision (f32x4) against a margin that makes them surely screen: the f32
;; numerator is within numError of the f64 one (the caller derives the bound from the weights),
;; and inv is at least `lo` anywhere in the cell, so numerator >= oneMinusSim / lo (+ margins)
;; implies t >= oneMinusSim in double precision. Four that pass are screen. Likewise four surely
;; plain (t <= tPlain) with surely no spill (the despill numerator at most 0, within the same
;; bound) only widen the row's bounds, and four of canvas padding change nothing. Any other four
;; go one at a time, exactly. A pixel the test cannot settle is never guessed.
;;
;; V8 neither hoists loop-invariant values out of wasm loops nor keeps many v128 values in
;; registers, so the f32x4 weights are read from memory (L1) where they are used.
(module
  (import "env" "memory" (memory 1))

  ;; Layout of the parameter block (byte offsets; key-screen-test.ts writes it).
  ;; f64 at 0: k0 k1 k2 q0 q1 q2 halfBal oneMinusSim tPlain halfBias strength xStep numError
  ;; i32 at 128: width cols listAll cellEnd rowInv rowDInv fracX kept keptT spill spillD runs
  ;; i32 out at 192: spills first last runs
  ;; f32x4 at 256: k0 k1 k2 q0 q1 q2 halfBal (7 x 16 bytes), then i32x4 255 at 368, i32x4 alpha mask at 384,
  ;; f32x4 halfBias at 400

  (global $row (mut i32) (i32.const 0))
  (global $keptP (mut i32) (i32.const 0))
  (global $keptT (mut i32) (i32.const 0))
  (global $spillP (mut i32) (i32.const 0))
  (global $spillD (mut i32) (i32.const 0))
  (global $runsP (mut i32) (i32.const 0))
  (global $listAll (mut i32) (i32.const 0))
  (global $kept (mut i32) (i32.const 0))
  (global $spills (mut i32) (i32.const 0))
  (global $first (mut i32) (i32.const 0))
  (global $last (mut i32) (i32.const 0))
  (global $runs (mut i32) (i32.const 0))
  (global $runStart (mut i32) (i32.const 0))
  (global $runEnd (mut i32) (i32.const 0))
  (global $k0 (mut f64) (f64.const 0))
  (global $k1 (mut f64) (f64.const 0))
  (global $k2 (mut f64) (f64.const 0))
  (global $q0 (mut f64) (f64.const 0))
  (global $q1 (mut f64) (f64.const 0))
  (global $q2 (mut f64) (f64.const 0))
  (global $halfBal (mut f64) (f64.const 0))
  (global $oms (mut f64) (f64.const 0))
  (global $tPlain (mut f64) (f64.const 0))
  (global $halfBias (mut f64) (f64.const 0))
  (global $strength (mut f64) (f64.const 0))

  ;; Ends the current run of screen pixels (if any) into the runs list: [start, end) pairs.
  (func $closeRun
    (local $at i32)
    (if (i32.ge_s (global.get $runStart) (i32.const 0))
      (then
        (local.set $at (i32.add (global.get $runsP) (i32.shl (global.get $runs) (i32.const 3))))
        (i32.store (local.get $at) (global.get $runStart))
        (i32.store offset=4 (local.get $at) (global.get $runEnd))
        (global.set $runs (i32.add (global.get $runs) (i32.const 1))))))

  ;; Screen pixels [i, i + n): extends the current run or starts another.
  (func $screen (param $i i32) (param $n i32)
    (if (i32.eq (local.get $i) (global.get $runEnd))
      (then (global.set $runEnd (i32.add (local.get $i) (local.get $n))))
      (else
        (call $closeRun)
        (global.set $runStart (local.get $i))
        (global.set $runEnd (i32.add (local.get $i) (local.get $n))))))

  ;; Pixel i (word v) at inv, in double precision: screen, plain, kept, or canvas padding (alpha
  ;; 0: stays as it is, listed nowhere).
  (func $pixel (param $i i32) (param $v i32) (param $inv f64)
    (local $r f64) (local $g f64) (local $b f64) (local $core f64) (local $spread f64) (local $t f64)
    (local $x i32) (local $d f64)
    (if (i32.eqz (i32.shr_u (local.get $v) (i32.const 24))) (then (return)))
    (local.set $r (f64.convert_i32_u (i32.and (local.get $v) (i32.const 255))))
    (local.set $g (f64.convert_i32_u (i32.and (i32.shr_u (local.get $v) (i32.const 8)) (i32.const 255))))
    (local.set $b (f64.convert_i32_u (i32.and (i32.shr_u (local.get $v) (i32.const 16)) (i32.const 255))))
    (local.set $core (f64.add (f64.add (f64.mul (global.get $k0) (local.get $r)) (f64.mul (global.get $k1) (local.get $g)))
      (f64.mul (global.get $k2) (local.get $b))))
    (local.set $spread (f64.abs (f64.add (f64.add (f64.mul (global.get $q0) (local.get $r)) (f64.mul (global.get $q1) (local.get $g)))
      (f64.mul (global.get $q2) (local.get $b)))))
    (local.set $t (f64.mul (f64.sub (local.get $core) (f64.mul (global.get $halfBal) (local.get $spread))) (local.get $inv)))
    (if (f64.ge (local.get $t) (global.get $oms))
      (then (call $screen (local.get $i) (i32.const 1)) (return)))
    (local.set $x (i32.sub (local.get $i) (global.get $row)))
    (if (f64.le (local.get $t) (global.get $tPlain))
      (then
        (if (i32.lt_s (global.get $first) (i32.const 0)) (then (global.set $first (local.get $x))))
        (global.set $last (local.get $x))
        ;; keyKeptRow's despill amount, the same arithmetic (0 with despill 0).
        (local.set $d (f64.mul (f64.sub (local.get $core) (f64.mul (global.get $halfBias) (local.get $spread))) (global.get $strength)))
        (if (i32.or (f64.gt (local.get $d) (f64.const 0)) (global.get $listAll))
          (then
            (i32.store (i32.add (global.get $spillP) (i32.shl (global.get $spills) (i32.const 2))) (local.get $x))
            (f64.store (i32.add (global.get $spillD) (i32.shl (global.get $spills) (i32.const 3))) (local.get $d))
            (global.set $spills (i32.add (global.get $spills) (i32.const 1)))))
        (return)))
    (i32.store (i32.add (global.get $keptP) (i32.shl (global.get $kept) (i32.const 2))) (local.get $x))
    (f64.store (i32.add (global.get $keptT) (i32.shl (global.get $kept) (i32.const 3))) (local.get $t))
    (global.set $kept (i32.add (global.get $kept) (i32.const 1))))

  ;; Row `row` (its first pixel's index) of the source colours at byte offset `src`. Returns how
  ;; many pixels were kept; writes the counts at 192.
  (func (export "screenRow") (param $row i32) (param $src i32) (result i32)
    (local $width i32) (local $cols i32) (local $xStep f64) (local $numError f64)
    (local $cellEnd i32) (local $rowInv i32) (local $rowDInv i32) (local $fracX i32)
    (local $cell i32) (local $i i32) (local $start i32) (local $iEnd i32) (local $rowEnd i32)
    (local $slope f64) (local $a f64) (local $z f64) (local $lo f64) (local $hi f64) (local $thr f64) (local $thr32 f32) (local $plain32 f32)
    (local $chainI i32) (local $chainInv f64) (local $p i32) (local $pEnd i32)
    (local $V v128) (local $R v128) (local $G v128) (local $B v128) (local $N v128) (local $S v128) (local $C v128) (local $THR v128) (local $PLAIN v128) (local $plainFast i32)
    (global.set $k0 (f64.load (i32.const 0)))
    (global.set $k1 (f64.load (i32.const 8)))
    (global.set $k2 (f64.load (i32.const 16)))
    (global.set $q0 (f64.load (i32.const 24)))
    (global.set $q1 (f64.load (i32.const 32)))
    (global.set $q2 (f64.load (i32.const 40)))
    (global.set $halfBal (f64.load (i32.const 48)))
    (global.set $oms (f64.load (i32.const 56)))
    (global.set $tPlain (f64.load (i32.const 64)))
    (global.set $halfBias (f64.load (i32.const 72)))
    (global.set $strength (f64.load (i32.const 80)))
    (local.set $xStep (f64.load (i32.const 88)))
    (local.set $numError (f64.load (i32.const 96)))
    (local.set $width (i32.load (i32.const 128)))
    (local.set $cols (i32.load (i32.const 132)))
    (global.set $listAll (i32.load (i32.const 136)))
    (local.set $cellEnd (i32.load (i32.const 140)))
    (local.set $rowInv (i32.load (i32.const 144)))
    (local.set $rowDInv (i32.load (i32.const 148)))
    (local.set $fracX (i32.load (i32.const 152)))
    (global.set $keptP (i32.load (i32.const 156)))
    (global.set $keptT (i32.load (i32.const 160)))
    (global.set $spillP (i32.load (i32.const 164)))
    (global.set $spillD (i32.load (i32.const 168)))
    (global.set $runsP (i32.load (i32.const 172)))
    (global.set $row (local.get $row))
    (global.set $kept (i32.const 0))
    (global.set $spills (i32.const 0))
    (global.set $runs (i32.const 0))
    (global.set $first (i32.const -1))
    (global.set $last (i32.const -1))
    (global.set $runStart (i32.const -1))
    (global.set $runEnd (i32.const -1))
    (local.set $rowEnd (i32.add (local.get $row) (local.get $width)))
    (local.set $plainFast (i32.eqz (global.get $listAll)))
    (local.set $i (local.get $row))
    ;; Cell by cell, as the grid's screen term is linear along x within one.
    (block $cellsDone
      (loop $cells
        (br_if $cellsDone (i32.ge_s (local.get $cell) (i32.sub (local.get $cols) (i32.const 1))))
        (local.set $start (local.get $i))
        (local.set $iEnd (i32.add (local.get $row) (i32.load (i32.add (local.get $cellEnd) (i32.shl (local.get $cell) (i32.const 2))))))
        (local.set $slope (f64.mul (f64.load (i32.add (local.get $rowDInv) (i32.shl (local.get $cell) (i32.const 3)))) (local.get $xStep)))
        (local.set $a
          (if (result f64) (i32.lt_s (local.get $i) (local.get $rowEnd))
            (then (f64.add
              (f64.load (i32.add (local.get $rowInv) (i32.shl (local.get $cell) (i32.const 3))))
              (f64.mul
                (f64.load (i32.add (local.get $rowDInv) (i32.shl (local.get $cell) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $fracX) (i32.shl (i32.sub (local.get $i) (local.get $row)) (i32.const 2))))))))
            (else (f64.const 0))))
        ;; inv at pixel start + k is `a` plus k slopes, added one at a time (the exact value the
        ;; slow path needs): the chain is advanced only as far as a pixel the slow path takes.
        (local.set $chainI (local.get $i))
        (local.set $chainInv (local.get $a))
        ;; The least inv anywhere in the cell: between a and a + n slopes, less what n roundings
        ;; of an ulp each (2^-52 of the largest) could take off, eight times over.
        (local.set $z (f64.add (local.get $a)
          (f64.mul (f64.convert_i32_s (i32.sub (local.get $iEnd) (local.get $start))) (local.get $slope))))
        (local.set $hi (f64.max (f64.abs (local.get $a)) (f64.abs (local.get $z))))
        (local.set $lo (f64.sub (f64.min (local.get $a) (local.get $z))
          (f64.mul (f64.mul (local.get $hi) (f64.const 0x1p-49))
            (f64.convert_i32_s (i32.add (i32.sub (local.get $iEnd) (local.get $start)) (i32.const 2))))))
        ;; Where inv can be 0 or less nothing is surely screen: the cell goes one at a time.
        (if (f64.gt (local.get $lo) (f64.const 0))
          (then
            ;; The f32 numerator that makes a pixel surely screen, rounded up to an f32.
            (local.set $thr (f64.add (f64.mul (f64.div (global.get $oms) (local.get $lo)) (f64.const 1.000000000001))
              (local.get $numError)))
            (local.set $thr32 (f32.demote_f64 (local.get $thr)))
            (if (f64.lt (f64.promote_f32 (local.get $thr32)) (local.get $thr))
              (then (local.set $thr32 (f32.reinterpret_i32 (i32.add (i32.reinterpret_f32 (local.get $thr32)) (i32.const 1))))))
            (local.set $THR (f32x4.splat (local.get $thr32)))
            ;; And the one below which a pixel is surely plain (t <= tPlain, which is below 0, so
            ;; the numerator is negative and t is nearest 0 where inv is least), rounded down.
            (local.set $thr (f64.sub (f64.mul (f64.div (global.get $tPlain) (local.get $lo)) (f64.const 1.000000000001))
              (local.get $numError)))
            (local.set $plain32 (f32.demote_f64 (local.get $thr)))
            (if (f64.gt (f64.promote_f32 (local.get $plain32)) (local.get $thr))
              (then (local.set $plain32 (f32.reinterpret_i32 (i32.add (i32.reinterpret_f32 (local.get $plain32)) (i32.const 1))))))
            (local.set $PLAIN (f32x4.splat (local.get $plain32)))
            (block $quadsDone
              (loop $quads
                (br_if $quadsDone (i32.ge_s (i32.add (local.get $i) (i32.const 3)) (local.get $iEnd)))
                (local.set $V (v128.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
                (local.set $R (f32x4.convert_i32x4_s (v128.and (local.get $V) (v128.load (i32.const 368)))))
                (local.set $G (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $V) (i32.const 8)) (v128.load (i32.const 368)))))
                (local.set $B (f32x4.convert_i32x4_s (v128.and (i32x4.shr_u (local.get $V) (i32.const 16)) (v128.load (i32.const 368)))))
                (local.set $C
                  (f32x4.add (f32x4.add (f32x4.mul (v128.load (i32.const 256)) (local.get $R)) (f32x4.mul (v128.load (i32.const 272)) (local.get $G)))
                    (f32x4.mul (v128.load (i32.const 288)) (local.get $B))))
                (local.set $S (f32x4.abs
                  (f32x4.add (f32x4.add (f32x4.mul (v128.load (i32.const 304)) (local.get $R)) (f32x4.mul (v128.load (i32.const 320)) (local.get $G)))
                    (f32x4.mul (v128.load (i32.const 336)) (local.get $B)))))
                (local.set $N (f32x4.sub (local.get $C) (f32x4.mul (v128.load (i32.const 352)) (local.get $S))))
                (if (i32.and
                      (i32x4.all_true (f32x4.ge (local.get $N) (local.get $THR)))
                      ;; and none of them canvas padding (alpha 0)
                      (i32x4.all_true (v128.and (local.get $V) (v128.load (i32.const 384)))))
                  (then
                    ;; $screen, written out: a call here per four pixels cost a third of the loop.
                    (if (i32.eq (local.get $i) (global.get $runEnd))
                      (then (global.set $runEnd (i32.add (local.get $i) (i32.const 4))))
                      (else
                        (call $closeRun)
                        (global.set $runStart (local.get $i))
                        (global.set $runEnd (i32.add (local.get $i) (i32.const 4))))))
                  (else
                  ;; Four of canvas padding (alpha 0: the margins the pipeline adds round the
                  ;; clip) stay as they are.
                  (if (v128.any_true (v128.and (local.get $V) (v128.load (i32.const 384))))
                  (then
                  (if (i32.and (local.get $plainFast)
                        (i32.and
                          (i32x4.all_true (f32x4.le (local.get $N) (local.get $PLAIN)))
                          (i32.and
                            ;; and surely no spill: the despill amount's numerator at most 0
                            (i32x4.all_true (f32x4.le
                              (f32x4.add (f32x4.sub (local.get $C) (f32x4.mul (v128.load (i32.const 400)) (local.get $S))) (f32x4.splat (f32.demote_f64 (local.get $numError))))
                              (v128.const f32x4 0 0 0 0)))
                            (i32x4.all_true (v128.and (local.get $V) (v128.load (i32.const 384)))))))
                    (then
                      ;; Four plain pixels with no spill: the row's bounds are all they change.
                      (if (i32.lt_s (global.get $first) (i32.const 0))
                        (then (global.set $first (i32.sub (local.get $i) (local.get $row)))))
                      (global.set $last (i32.sub (i32.add (local.get $i) (i32.const 3)) (local.get $row))))
                    (else
                    ;; One at a time, exactly.
                    (local.set $p (local.get $i))
                    (local.set $pEnd (i32.add (local.get $i) (i32.const 4)))
                    (loop $each
                      (block $atP
                        (loop $advance
                          (br_if $atP (i32.ge_s (local.get $chainI) (local.get $p)))
                          (local.set $chainInv (f64.add (local.get $chainInv) (local.get $slope)))
                          (local.set $chainI (i32.add (local.get $chainI) (i32.const 1)))
                          (br $advance)))
                      (call $pixel (local.get $p) (i32.load (i32.add (local.get $src) (i32.shl (local.get $p) (i32.const 2)))) (local.get $chainInv))
                      (local.set $p (i32.add (local.get $p) (i32.const 1)))
                      (br_if $each (i32.lt_s (local.get $p) (local.get $pEnd))))))))))
                (local.set $i (i32.add (local.get $i) (i32.const 4)))
                (br $quads)))))
        ;; The rest of the cell (fewer than four, or all of it when inv can be 0), one at a time.
        (block $restDone
          (loop $rest
            (br_if $restDone (i32.ge_s (local.get $i) (local.get $iEnd)))
            (block $atI
              (loop $advanceRest
                (br_if $atI (i32.ge_s (local.get $chainI) (local.get $i)))
                (local.set $chainInv (f64.add (local.get $chainInv) (local.get $slope)))
                (local.set $chainI (i32.add (local.get $chainI) (i32.const 1)))
                (br $advanceRest)))
            (call $pixel (local.get $i) (i32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))) (local.get $chainInv))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rest)))
        (local.set $cell (i32.add (local.get $cell) (i32.const 1)))
        (br $cells)))
    (call $closeRun)
    (i32.store (i32.const 192) (global.get $spills))
    (i32.store (i32.const 196) (global.get $first))
    (i32.store (i32.const 200) (global.get $last))
    (i32.store (i32.const 204) (global.get $runs))
    (global.get $kept)))
